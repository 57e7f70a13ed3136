"""帳票: application forms as PDF in Japanese layout (issue 5)."""
