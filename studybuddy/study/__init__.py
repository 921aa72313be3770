"""The study tools: summary, flashcards, quiz, homework, chat, glossary, study guide, FAQ and mind map."""
