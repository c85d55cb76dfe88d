"""Scam text of the kinds reported against Microsoft notifications (SENDERS.md sections 1-5),
and the obfuscations used to slip it past filters.

Phone numbers use the 555-01xx range reserved for fiction (NANP), never a number from a report;
web addresses use reserved ``.example`` names.
"""

from __future__ import annotations

# Abnormal, January 2026: tenant name set to a fake Bitcoin/PayPal charge and a callback
# number; the capital I in "CanceI" is the campaign's own trick.
BITCOIN_PAYPAL = ("Your Bitcoin Purchase of USD 498.95 Completed through PayPal. Reach Support "
                  "Desk at +1 (802) 555-0142 to CanceI or Renew.")
# Check Point, January 2026: team names written as invoices, with "c0ntact" and "Ivoice".
TEAMS_INVOICE = ("Subscription Auto-Pay Notice (Ivoice ID: 2025_614632PPOT_SAG Amount 629.98 "
                 "USD) If you did not authorize this charge c0ntact our support team at "
                 "+1 (888) 555-0147")
# Kaspersky/Forbes 2025: genuine purchase mails whose organisation name carries a phone number.
BILLING_ORG = "Microsoft Billing Support - refund desk +1 (877) 555-0163"
# BleepingComputer, March 2026: alert rule descriptions posing as a billing notice.
AZURE_ALERT = ("MICROSOFT CORPORATION BILLING AND ACCOUNT SECURITY NOTICE (REF: MS-FRA-20260321). "
               "Your account was charged $389.90 for Windows Defender Advanced Protection. If you "
               "did not authorize this payment call +1 (864) 555-0118 within 24 hours.")
AZURE_ALERT_NAME = "Windows Defender renewal charge USD 389.90 - call +1 (864) 555-0118"
# Mallory / Sublime: guest invitations whose message is a callback (TOAD) lure.
INVITE_MESSAGE = ("Your PayPal account has been charged $749.99 for a Norton 360 renewal. To "
                  "cancel and receive a refund call our billing desk at +1 (833) 555-0191 "
                  "immediately.")
PHISH_LINK = "https://paypal-refund-desk.example/cancel"
SHORT_LURE = "PayPal refund desk +1 (802) 555-0142"

ZERO_WIDTH_SPACE = "\u200b"
ZERO_WIDTH_JOINER = "\u200d"
# Cyrillic letters that look like Latin a, o, e (the homoglyphs seen in the Teams campaign).
_HOMOGLYPHS = str.maketrans({"a": "\u0430", "o": "\u043e", "e": "\u0435"})


def zero_width_digits(text: str) -> str:
    """A zero-width space after every digit: the number reads the same, a digit-run regex
    sees no number."""
    return "".join(c + ZERO_WIDTH_SPACE if c.isdigit() else c for c in text)


def homoglyphs(text: str) -> str:
    """Latin a/o/e swapped for Cyrillic look-alikes ("PаyPаl")."""
    return text.translate(_HOMOGLYPHS)


def fullwidth_digits(text: str) -> str:
    """Digits as FULLWIDTH DIGIT characters (U+FF10..U+FF19); NFKC folds them back."""
    return "".join(chr(0xFF10 + int(c)) if c.isascii() and c.isdigit() else c for c in text)
