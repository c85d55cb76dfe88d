"""A small valid template pack (one brand, one sender, one template), for tests that edit it."""

from __future__ import annotations

import textwrap

PACK = textwrap.dedent("""\
    format: mailaudit-templates/1
    family: test
    brands:
      - name: Example
        domains: [example.com]
    senders:
      - id: example.notice
        brand: Example
        product: Notices
        addresses: [notice@example.com]
        source: test
        evidence: INFERRED
        templates:
          - id: example.notice.hello
            subject: "{tenant} says hello"
            language: en
            source: test
            evidence: INFERRED
            slots:
              tenant: {type: org_name, user_controlled: true, max_len: 64}
            body:
              - "Hello from {tenant}."
            examples:
              - {tenant: Contoso}
    """)
