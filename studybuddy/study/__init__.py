"""The study tools: summary, flashcards, quiz, homework, chat and glossary."""
