"""Plain, readable PDFs of letters: the demo letters, and (later) remote print."""

from __future__ import annotations

from fpdf import FPDF


def render_letter_pdf(
    *, sender: str, title: str, paragraphs: list[str], recipient_address: str = ""
) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_author(sender)
    pdf.set_creator("Digital Post hub")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 5, sender, new_x="LMARGIN", new_y="NEXT")
    if recipient_address:
        pdf.ln(10)
        pdf.multi_cell(90, 5, recipient_address, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(15)
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", size=11)
    for paragraph in paragraphs:
        pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    return bytes(pdf.output())
