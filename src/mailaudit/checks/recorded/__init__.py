"""What the receivers recorded: which Authentication-Results to trust, Exchange Online's
headers, the SPF envelope, and how the recorded results compare with the recomputed ones."""
