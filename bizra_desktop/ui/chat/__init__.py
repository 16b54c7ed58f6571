"""The chat pane: message views, the column that holds them and the prompt box."""
