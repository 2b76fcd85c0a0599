"""Modal dialogs: confirmations before anything irreversible, and the forms that start work."""
