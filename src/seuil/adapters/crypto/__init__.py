"""Key material, template encryption and the signed credential codec."""
