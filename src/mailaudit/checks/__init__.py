"""Authentication checks, one folder per check: dkim/, spf/, dmarc/, arc/, and recorded/
(what the receivers wrote). ``authenticate`` runs them in the order the RFCs need."""
