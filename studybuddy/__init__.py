"""StudyBuddy: a self-hosted AI study companion with Avner, the capybara tutor."""

__version__ = "0.2.0"
