"""What keeps an export fast and small: read-ahead threads, Arrow's memory pool, compression."""
