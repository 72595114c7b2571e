"""The DPIA as PDF (fpdf2: pure Python). A Unicode TrueType font is needed for French
(œ, « », ...): DejaVu Sans, which matplotlib (a dependency) ships; else the core
Helvetica font with the text reduced to what it can show."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from seuil.services.dpia import DpiaDocument, Table

_REPLACE = str.maketrans({"œ": "oe", "Œ": "OE", "’": "'", "…": "...", "–": "-", "—": "-"})


def _dejavu() -> Path | None:
    try:
        import matplotlib

        folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    except ImportError:
        return None
    path = folder / "DejaVuSans.ttf"
    return path if path.is_file() and (folder / "DejaVuSans-Bold.ttf").is_file() else None


class _Pdf(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        font = _dejavu()
        if font is not None:
            self.add_font("body", "", str(font))
            self.add_font("body", "B", str(font.with_name("DejaVuSans-Bold.ttf")))
            self.family_name = "body"
            self.unicode = True
        else:
            self.family_name = "helvetica"
            self.unicode = False
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(15, 15, 15)

    def text_of(self, value: str) -> str:
        if self.unicode:
            return value
        ascii_ish = unicodedata.normalize("NFC", value.translate(_REPLACE))
        return ascii_ish.encode("latin-1", "replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family_name, "", 8)
        self.cell(0, 8, f"{self.page_no()}", align="C")


def _table(pdf: _Pdf, table: Table) -> None:
    pdf.set_font(pdf.family_name, "", 7 if len(table.headers) > 5 else 8)
    with pdf.table(first_row_as_headings=True, line_height=4) as out:
        head = out.row()
        for header in table.headers:
            head.cell(pdf.text_of(header))
        for values in table.rows:
            row = out.row()
            for value in values:
                row.cell(pdf.text_of(value))
    pdf.ln(2)


def render_dpia_pdf(document: DpiaDocument) -> bytes:
    pdf = _Pdf()
    pdf.set_title(pdf.text_of(document.title))
    pdf.set_creation_date(document.generated_at)
    pdf.add_page()
    pdf.set_font(pdf.family_name, "B", 14)
    pdf.multi_cell(0, 7, pdf.text_of(document.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(pdf.family_name, "", 9)
    stamp = document.generated_at.strftime("%d/%m/%Y %H:%M")
    pdf.multi_cell(
        0, 5, pdf.text_of(f"{document.site_name} (UAI {document.site_id}) - généré le {stamp} UTC"),
        new_x=XPos.LMARGIN, new_y=YPos.NEXT,
    )  # fmt: skip
    for section in document.sections:
        pdf.ln(3)
        pdf.set_font(pdf.family_name, "B", 11)
        pdf.multi_cell(0, 6, pdf.text_of(section.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(pdf.family_name, "", 9)
        for paragraph in section.paragraphs:
            pdf.multi_cell(0, 4.5, pdf.text_of(paragraph), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(1)
        for table in section.tables:
            _table(pdf, table)
        for question in section.to_fill:
            pdf.set_font(pdf.family_name, "B", 9)
            pdf.multi_cell(0, 4.5, pdf.text_of(f"- {question}"), new_x=XPos.LMARGIN,
                           new_y=YPos.NEXT)  # fmt: skip
    return bytes(pdf.output())
