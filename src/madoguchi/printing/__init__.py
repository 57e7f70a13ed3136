"""帳票: application forms as PDF in Japanese layout (issue 5).

    pdf = forms_pdf(applications=session_applications, title="窓口受付 2026-11-23")
    pdf = form_pdf(application=application)

Each application is one 申請書/届書 on A4 (see ``render.py``); the layout is the Django template
``templates/printing/forms.html`` with ``forms.css`` beside it.
"""

from madoguchi.printing.render import form_pdf, forms_pdf

__all__ = ["form_pdf", "forms_pdf"]
