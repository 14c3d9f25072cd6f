"""Text messages: encoding and segmentation, the messaging port and its drivers, keywords."""
