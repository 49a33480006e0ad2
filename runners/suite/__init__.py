"""Many runs: a suite expanded, checked, tuned and launched, and two sets of records compared."""
