"""Point-in-time fit and interest features and horizon labels with censoring."""
