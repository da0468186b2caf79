"""Assemble sections into one self-contained HTML report.

The output has no external resource: CSS is inlined, figures are SVG in
``data:`` URIs, there is no JavaScript. It reads on screen and prints on A4
(print stylesheet). Everything that varies between two runs on the same
inputs -- start and end times -- sits in the provenance block only, so the
tables of two runs compare equal byte for byte.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import jinja2
from markupsafe import Markup

from evalkit.disclosure import DEFAULT_THRESHOLD
from evalkit.errors import ConfigError, EvalkitError
from evalkit.report.elements import (
    Figure,
    IdentifierGuard,
    LedgerFlow,
    ReportWarning,
    Section,
    Table,
    Text,
    inline_html,
)
from evalkit.report.i18n import check_lang, format_number, frame_labels, label, warning_lead
from evalkit.report.output import write_atomic
from evalkit.report.provenance import Provenance
from evalkit.report.redaction import redacting

__all__ = ["Report"]

log = logging.getLogger(__name__)


def _environment() -> jinja2.Environment:
    loader = jinja2.FunctionLoader(
        lambda name: resources.files("evalkit.report").joinpath("templates", name).read_text(
            encoding="utf-8"
        )
    )
    return jinja2.Environment(
        loader=loader, autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )


class Report:
    """An evaluation report: sections, provenance, language and disclosure threshold.

    Parameters
    ----------
    title, subtitle
        Shown at the top of the report.
    lang
        ``"fr"`` or ``"en"``: fixed labels and number formats.
    threshold
        Disclosure threshold applied to every table with count columns.
    provenance
        :class:`~evalkit.report.provenance.Provenance`; a fresh one (start
        time now) by default.

    Examples
    --------
    >>> report = Report("Rapport annuel", lang="fr")
    >>> report.add(Section("Résultats").add("Texte.", Table(results.to_frame())))
    >>> report.write("reports/output/annual.html")
    """

    def __init__(
        self,
        title: str,
        *,
        lang: str = "fr",
        threshold: int = DEFAULT_THRESHOLD,
        subtitle: str = "",
        provenance: Provenance | None = None,
    ) -> None:
        self.title = title
        self.subtitle = subtitle
        self.lang = check_lang(lang)
        if int(threshold) < 1:
            raise ConfigError(f"disclosure threshold must be a positive integer, got {threshold!r}")
        self.threshold = int(threshold)
        self.provenance = provenance or Provenance()
        self.sections: list[Section] = []
        self.guard = IdentifierGuard()

    def add(self, *sections: Section | Iterable[Section]) -> Report:
        """Append sections (or lists of sections); returns self."""
        for item in sections:
            if isinstance(item, Section):
                self.sections.append(item)
            else:
                self.sections.extend(item)
        return self

    def protect_identifiers(self, values: Iterable = (), columns: Iterable[str] = ()) -> None:
        """Refuse to render any of ``values`` or any column named in ``columns``."""
        self.guard = self.guard.merged(columns, values)

    def protect_id_column(self, column: str, ids) -> None:
        """Protect an input's declared identifier column and its values (text or numeric)."""
        self.guard = self.guard.with_id_column(column, ids)

    @property
    def failures(self) -> list[Section]:
        """Sections (at any depth) whose analysis raised."""
        return [s for top in self.sections for s in top.walk() if s.status == "failed"]

    @property
    def unavailable(self) -> list[Section]:
        """Sections (at any depth) that could not be produced (module or data missing)."""
        return [s for top in self.sections for s in top.walk() if s.status == "unavailable"]

    def render(self, lang: str | None = None) -> str:
        """The report as one HTML document (in ``lang``, default the report's)."""
        with redacting(lambda: self.guard):
            return self._render(check_lang(lang or self.lang))

    def _render(self, lang: str) -> str:
        if self.provenance.finished is None:
            self.provenance.finish()
        counters = {"table": 0, "figure": 0}
        problems: list[dict] = []
        # English technical messages, once each, for the appendix: message -> entry.
        self._technical: dict[str, dict] = {}
        views = [
            self._section_view(s, (k,), lang, counters, problems)
            for k, s in enumerate(self.sections, start=1)
        ]
        # Name the programme of each line when the report covers several.
        summary = [{**v, "parent": top["title"] if len(views) > 1 else ""}
                   for top in views for v in _walk_views(top) if v["headline"]]
        toc = [
            {
                "anchor": v["anchor"],
                "number": v["number"],
                "title": v["title"],
                "children": [b["section"] for b in v["blocks"] if b.get("section")],
            }
            for v in views
        ]
        prov = self.provenance
        inputs = [
            {"name": f.name, "sha256": f.sha256, "size_text": format_number(f.size, lang)}
            for f in prov.inputs
        ]
        template = _environment().get_template("report.html.j2")
        css = resources.files("evalkit.report").joinpath("templates", "report.css").read_text(
            encoding="utf-8"
        )
        return template.render(
            lang=lang,
            title=self.title,
            subtitle=self.subtitle,
            css=Markup(css),
            labels=frame_labels(lang),
            sections=views,
            toc=toc if len(views) > 1 else [],
            problems=problems,
            summary=summary,
            technical=list(self._technical.values()),
            any_failed=any(p["status"] == "failed" for p in problems),
            provenance={
                "evalkit_version": prov.evalkit_version,
                "python_version": prov.python_version,
                "packages": ", ".join(f"{k} {v}" for k, v in prov.packages.items()),
                "config": prov.config,
                "seed": prov.seed,
                "inputs": inputs,
            },
            parameters=[(k, _show(v, lang)) for k, v in prov.parameters.items()],
            threshold=self.threshold,
            started=prov.started.isoformat(),
            finished=prov.finished.isoformat() if prov.finished else "–",
        )

    def _section_view(self, section, number, lang, counters, problems) -> dict:
        anchor = section.key or "s-" + "-".join(map(str, number))
        number_text = ".".join(map(str, number)) + "."
        where = f"section {number_text} {section.title!r}"
        self.guard.check_text(section.title + " " + section.headline, where)
        # Messages (failure reasons, warnings) keep their sense with ids replaced by ‹id›.
        section.reason = self.guard.redact(section.reason)
        section.warnings = [w if self.guard.redact(str(w)) == str(w)
                            else ReportWarning(getattr(w, "kind", ""), self.guard.redact(str(w)))
                            for w in section.warnings]
        blocks = []
        k_sub = 0
        for block in section.content:
            if isinstance(block, Section):
                k_sub += 1
                sub = self._section_view(block, (*number, k_sub), lang, counters, problems)
                blocks.append({"section": sub, "html": ""})
                continue
            try:
                block_html = self._block_html(block, lang, counters, where)
            except Exception as exc:  # noqa: BLE001 -- one bad block fails its section only
                # A block that cannot be shown safely (identifier, bad count column) or at
                # all fails its section: nothing of that section is rendered.
                if isinstance(exc, EvalkitError):
                    log.error("%s cannot be rendered: %s", where, exc)
                else:
                    log.exception("%s cannot be rendered", where)
                section.status = "failed"
                section.reason = self.guard.redact(f"{type(exc).__name__}: {exc}")
                blocks = []
                break
            blocks.append({"section": None, "html": Markup(block_html)})
        view = {
            "anchor": anchor,
            "number": number_text,
            "title": section.title,
            "level": len(number),
            "status": section.status,
            "reason": section.reason,
            "label": label(section.status, lang) if section.status != "ok" else "",
            "blocks": blocks,
            "warnings": self._warning_views(section, number_text, lang),
            "headline": section.headline,
            "headline_html": Markup(inline_html(section.headline)),
        }
        if section.status != "ok":
            problems.append(view)
        return view

    def _warning_views(self, section, number_text: str, lang: str) -> list[dict]:
        """One explanation per kind of warning in the reader's language; the English
        technical messages go to the appendix, each once, naming every section it came from."""
        views: dict[str, dict] = {}
        for warning in dict.fromkeys(section.warnings):
            kind, message = getattr(warning, "kind", ""), str(warning)
            lead = warning_lead(kind, lang)
            if not lead:  # English and no explanation known: the message itself
                views.setdefault(message, {"lead": message, "refs": []})
                continue
            entry = self._technical.setdefault(
                message, {"number": len(self._technical) + 1, "message": message, "sections": []})
            if number_text not in entry["sections"]:
                entry["sections"].append(number_text)
            view = views.setdefault(kind, {"lead": lead, "refs": []})
            if entry["number"] not in view["refs"]:
                view["refs"].append(entry["number"])
        return list(views.values())

    def _block_html(self, block, lang, counters, where) -> str:
        if isinstance(block, Text):
            return block.render(self.guard, where)
        if isinstance(block, Table):
            counters["table"] += 1
            return block.render(lang, self.threshold, self.guard, counters["table"])
        if isinstance(block, Figure):
            counters["figure"] += 1
            return block.render(lang, self.guard, counters["figure"])
        if isinstance(block, LedgerFlow):
            counters["figure"] += 1
            return block.render(lang, self.guard, counters["figure"])[0]
        raise TypeError(
            f"{where}: cannot render a {type(block).__name__}; use Text, Table, Figure, "
            "LedgerFlow or Section"
        )

    def write(self, path: str | Path, lang: str | None = None) -> Path:
        """Render and write atomically to ``path`` (the previous file survives a failure)."""
        text = self.render(lang)
        out = write_atomic(path, text)
        log.info("report written to %s (%d bytes)", out, len(text.encode("utf-8")))
        return out

    def publish(self, path: str | Path, lang: str | None = None, *, pdf: bool = False) -> Path:
        """Write the report where readers expect it, unless a section failed.

        All sections built (or marked "not available"): written atomically to
        ``path``, and a stale ``NAME.failed.html`` beside it is removed. A
        section failed: written to ``NAME.failed.html`` instead, so the last good
        report at ``path`` stays in place. Returns the path written.
        With ``pdf``, a successful report is also written as ``NAME.pdf``
        (:mod:`evalkit.report.pdf`, needs WeasyPrint).
        """
        path = Path(path)
        text = self.render(lang)  # rendering can fail a section too: decide after it
        failed_path = path.with_name(f"{path.stem}.failed{path.suffix}")
        if self.failures:
            written = write_atomic(failed_path, text)
            log.error("%d section(s) failed; %s left untouched, this run's report is %s",
                      len(self.failures), path, written)
            return written
        if pdf:  # before the HTML: a missing WeasyPrint leaves nothing half-published
            from evalkit.report.pdf import write_pdf

            write_pdf(text, path.with_suffix(".pdf"))
        written = write_atomic(path, text)
        failed_path.unlink(missing_ok=True)
        log.info("report written to %s (%d bytes)", written, len(text.encode("utf-8")))
        return written

    def _repr_html_(self) -> str:
        # Notebooks show the body only; the standalone file comes from write().
        html = self.render()
        body = re.search(r"<main>(.*)</main>", html, flags=re.S)
        return body.group(1) if body else html


def _walk_views(view: dict):
    yield view
    for block in view["blocks"]:
        if block.get("section"):
            yield from _walk_views(block["section"])


def _show(value, lang: str) -> str:
    """A parameter value as the reader of ``lang`` writes it: ``oui``/``yes``, ``0,95``."""
    if isinstance(value, (list, tuple)):
        # French numbers have a decimal comma: list them with semicolons.
        numeric = lang == "fr" and any(isinstance(v, float) for v in value)
        return (" ; " if numeric else ", ").join(_show(v, lang) for v in value) if value else "–"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_show(v, lang)}" for k, v in value.items()) if value else "–"
    if isinstance(value, float) and math.isfinite(value) and not value.is_integer():
        # As many decimals as the configuration gave (0.95 -> 0,95, not 0,950).
        digits = repr(value)
        decimals = len(digits.partition(".")[2]) if "e" not in digits else None
        return format_number(value, lang, decimals)
    if isinstance(value, (bool, int, float)):
        return format_number(value, lang)
    return str(value) if value not in (None, "") else "–"
