"""The kiosk surface (màn hình cảm ứng lấy số): blueprint, templates, styles and its JS module."""
