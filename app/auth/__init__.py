"""Clinician sign-in and sign-out (Flask-Login), with argon2 password hashes."""
