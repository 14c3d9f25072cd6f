"""When calls may start and in which order: the sans-IO campaign scheduler and its windows."""
