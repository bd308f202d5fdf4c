"""Load and check the config folder: plans, organisation, calendar and settings.

Every problem names the file, the line and the key path, e.g.
`config/plans/2022-26.yaml:412: outcomes[0].sub_outcomes[1].indicators[0].polarity: ...`,
because the people who edit these files are performance officers, not developers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from plan_reports.models import Calendar, Committees, Organisation, Plan, Scoring, Settings
from plan_reports.periods import Period

if TYPE_CHECKING:
    import yaml

M = TypeVar("M")
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path or '(top)'}: {self.message}"


class ConfigError(Exception):
    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def format_path(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class YamlDoc:
    """A parsed YAML file plus the line of every key path, for messages."""

    file: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    problems: list[ConfigProblem] = field(default_factory=list)

    def line(self, loc: Loc) -> int:
        while loc and loc not in self.lines:
            loc = loc[:-1]
        return self.lines.get(loc, 1)

    def problem(self, loc: Loc, message: str) -> ConfigProblem:
        return ConfigProblem(self.file, self.line(loc), format_path(loc), message)


def _walk(node: yaml.Node, loc: Loc, doc: YamlDoc) -> None:
    import yaml

    doc.lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            key = k.value
            if key in seen:
                doc.problems.append(ConfigProblem(doc.file, k.start_mark.line + 1, format_path((*loc, key)),
                                                  f"duplicate key '{key}' (the later one would silently win)"))
            seen.add(key)
            doc.lines[(*loc, key)] = k.start_mark.line + 1
            _walk(v, (*loc, key), doc)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*loc, i), doc)


def read_yaml(path: Path, shown_as: str | None = None) -> YamlDoc:
    name = shown_as or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError([ConfigProblem(name, 1, "", f"cannot read: {e.strerror}")]) from e
    import yaml  # only when a config file changed: the validated config is cached

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)  # libyaml when present: one parse, in C
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ConfigError([ConfigProblem(name, (mark.line + 1) if mark else 1, "", f"not valid YAML: {e}")]) from e
    finally:
        loader.dispose()
    doc = YamlDoc(name, data if data is not None else {})
    if node is not None:
        _walk(node, (), doc)
    return doc


def _pydantic_message(err: dict[str, Any]) -> str:
    kind = err["type"]
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        return "unknown key (check the spelling; allowed keys are listed in src/plan_reports/models.py)"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        return f"invalid value {err.get('input')!r}: expected {err['ctx']['expected']}"
    msg = err["msg"]
    return msg.removeprefix("Value error, ")


def validate_model(model: type[M], data: Any) -> M:
    """Validate plain data into a model (raises pydantic's ValidationError)."""
    from pydantic import TypeAdapter

    return TypeAdapter(model).validate_python(data)


def parse_model(doc: YamlDoc, model: type[M]) -> M | None:
    from pydantic import ValidationError

    try:
        return validate_model(model, doc.data)
    except ValidationError as e:
        for err in e.errors():
            loc = tuple(err["loc"])
            message = _pydantic_message(err)
            if err["type"] == "missing":
                message = f"required field '{loc[-1]}' is missing"
                loc = loc[:-1]
            doc.problems.append(doc.problem(loc, message))
        return None


def _plan_ids(plan_doc: YamlDoc) -> Iterable[tuple[str, Loc]]:
    data = plan_doc.data
    yield data["id"], ("id",)
    groups: list[tuple[Loc, Any]] = [(("outcomes", i), o) for i, o in enumerate(data["outcomes"])]
    if data.get("enabling"):
        groups.append((("enabling",), data["enabling"]))
    for gloc, g in groups:
        yield g["id"], (*gloc, "id")
        yield g["board"]["id"], (*gloc, "board", "id")
        for si, s in enumerate(g["sub_outcomes"]):
            sloc = (*gloc, "sub_outcomes", si)
            yield s["id"], (*sloc, "id")
            for kind in ("aims", "commitments", "indicators"):
                for k, item in enumerate(s.get(kind, [])):
                    yield item["id"], (*sloc, kind, k, "id")


def check_plan(plan: Plan, doc: YamlDoc, org: Organisation) -> None:
    """References and ids: the checks a schema cannot express."""
    seen: dict[str, Loc] = {}
    for ident, loc in _plan_ids(doc):
        if ident in seen:
            doc.problems.append(doc.problem(loc, f"duplicate id '{ident}' (first used at line {doc.line(seen[ident])})"))
        else:
            seen[ident] = loc
    depts = {d.id for d in org.departments}
    groups = {c.id for c in org.comparator_groups}
    known_depts = "known: " + ", ".join(sorted(depts))

    def bad(loc: Loc, message: str) -> None:
        doc.problems.append(doc.problem(loc, message))

    gl: list[tuple[Loc, Any]] = [(("outcomes", i), o) for i, o in enumerate(plan.outcomes)]
    if plan.enabling:
        gl.append((("enabling",), plan.enabling))
    for gloc, g in gl:
        if g.board.lead_department not in depts:
            bad((*gloc, "board", "lead_department"), f"unknown department '{g.board.lead_department}' ({known_depts})")
        for si, s in enumerate(g.sub_outcomes):
            sloc = (*gloc, "sub_outcomes", si)
            aims = {a.id for a in s.aims}
            known_aims = f"aims of {s.id}: {', '.join(sorted(aims))}"
            for ci, c in enumerate(s.commitments):
                if c.aim not in aims:
                    bad((*sloc, "commitments", ci, "aim"), f"commitment {c.id} points at unknown aim '{c.aim}' ({known_aims})")
                if c.lead not in depts:
                    bad((*sloc, "commitments", ci, "lead"), f"commitment {c.id} is led by unknown department '{c.lead}' ({known_depts})")
            for ii, ind in enumerate(s.indicators):
                iloc = (*sloc, "indicators", ii)
                if ind.aim not in aims:
                    bad((*iloc, "aim"), f"indicator {ind.id} measures unknown aim '{ind.aim}' ({known_aims})")
                if ind.department not in depts:
                    bad((*iloc, "department"), f"indicator {ind.id} is owned by unknown department '{ind.department}' ({known_depts})")
                if ind.comparator not in groups:
                    bad((*iloc, "comparator"), f"unknown comparator group '{ind.comparator}' (known: {', '.join(sorted(groups))})")


def default_config_dir() -> Path:
    env = os.environ.get("PLAN_REPORTS_CONFIG")
    if env:
        return Path(env)
    local = Path.cwd() / "config"
    if (local / "plans").is_dir():
        return local
    return Path(__file__).resolve().parents[2] / "config"


@dataclass(frozen=True)
class Config:
    root: Path
    plans: dict[str, Plan]
    organisation: Organisation
    calendar: Calendar
    settings: Settings
    scoring: Scoring
    committees: Committees | None = None

    def plan(self, plan_id: str | None = None) -> Plan:
        """The named plan, or the one current today (the approved plan covering today, else the latest)."""
        if plan_id is None:
            return self.current_plan(date.today())
        try:
            return self.plans[plan_id]
        except KeyError:
            raise ConfigError([ConfigProblem(str(self.root / "plans"), 1, "",
                                             f"no plan '{plan_id}' (known: {', '.join(sorted(self.plans))})")]) from None

    def current_plan(self, on: date) -> Plan:
        covering = [p for p in self.plans.values()
                    if Period.parse(p.starts).start <= on <= p.last_period().end and p.status != "draft"]
        pool = covering or list(self.plans.values())
        return max(pool, key=lambda p: Period.parse(p.starts))

    def plan_for_period(self, period: Period) -> Plan:
        return self.current_plan(period.start)

    def outside_every_plan(self, period: Period) -> str | None:
        """A warning in words when no plan (or extension) covers `period`, naming the plan in use and its end."""
        if any(p.covers(period) and p.status != "draft" for p in self.plans.values()):
            return None
        plan = self.plan_for_period(period)
        return (f"{period} is outside every plan: the latest, {plan.id} ({plan.title}), ended with "
                f"{plan.last_period()}. Its indicators and commitments are used meanwhile. Add the next plan as a new "
                f"file in {self.root / 'plans'}, or extend this one until its successor is approved "
                f"(extended_until: {period.year_label} in {plan.id}'s file).")

    def _move_off_weekend(self, d: date) -> date:
        while d.weekday() >= 5:
            d += timedelta(days=1 if self.calendar.weekend_dates_move_to == "monday" else -1)
        return d

    def submission_deadline(self, period: Period) -> date:
        o = self.calendar.overrides.get(str(period))
        if o and o.submission_deadline:
            return o.submission_deadline
        return self._move_off_weekend(period.end + timedelta(days=self.calendar.submission_deadline_days_after_period_end))

    def board_meeting(self, period: Period) -> date:
        o = self.calendar.overrides.get(str(period))
        if o and o.board_meeting:
            return o.board_meeting
        return self._move_off_weekend(period.end + timedelta(days=self.calendar.board_meeting_days_after_period_end))

    @cached_property
    def config_hash(self) -> str:
        import hashlib

        h = hashlib.sha256()
        for p in sorted(self.root.rglob("*.yaml")):
            h.update(p.read_bytes())
        return h.hexdigest()[:12]


def _cache_file(root: Path) -> tuple[Path, str] | None:
    """Where a validated config is cached: the user's cache folder, keyed by every YAML file's bytes and our code."""
    import hashlib

    from plan_reports import __version__

    try:
        h = hashlib.sha256(__version__.encode())
        for code in ("models.py", "config.py", "periods.py"):  # a changed model never unpickles an old shape
            h.update((Path(__file__).parent / code).read_bytes())
        for p in sorted(root.rglob("*.yaml")):
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes())
    except OSError:
        return None
    from platformdirs import user_cache_path

    return user_cache_path("plan-reports", appauthor=False) / f"config-{h.hexdigest()[:24]}.pickle", h.hexdigest()


def load_config(root: Path | None = None) -> Config:
    """Load and cross-check every config file (or reuse the cached result for identical files).

    Raises ConfigError listing all problems at once. A config with problems is never cached.
    """
    import pickle

    root = Path(root) if root else default_config_dir()
    cache = _cache_file(root) if not os.environ.get("PLAN_REPORTS_NO_CACHE") else None
    if cache and cache[0].exists():
        try:
            cfg = pickle.loads(cache[0].read_bytes())
            if isinstance(cfg, Config) and cfg.__dict__.get("_digest") == cache[1]:
                fresh = Config(root, cfg.plans, cfg.organisation, cfg.calendar, cfg.settings, cfg.scoring, cfg.committees)
                fresh.__dict__["_digest"] = cache[1]
                return fresh
        except Exception:
            pass
    cfg = _load_config(root)
    if cache:
        try:
            from plan_reports.atomic import atomic_path

            cfg.__dict__["_digest"] = cache[1]
            with atomic_path(cache[0]) as tmp:
                tmp.write_bytes(pickle.dumps(cfg, protocol=pickle.HIGHEST_PROTOCOL))
            for old in cache[0].parent.glob("config-*.pickle"):  # caches of earlier files or code are never read again
                if old != cache[0]:
                    old.unlink(missing_ok=True)
        except OSError:
            pass  # no writable cache folder: just slower next time
    return cfg


def _load_config(root: Path) -> Config:
    problems: list[ConfigProblem] = []

    def shown(p: Path) -> str:
        try:
            return str(p.relative_to(Path.cwd()))
        except ValueError:
            return str(p)

    def load(path: Path, model: type[M]) -> tuple[YamlDoc | None, M | None]:
        try:
            doc = read_yaml(path, shown(path))
        except ConfigError as e:
            problems.extend(e.problems)
            return None, None
        obj = parse_model(doc, model)
        problems.extend(doc.problems)
        doc.problems.clear()
        return doc, obj

    _, org = load(root / "organisation.yaml", Organisation)
    _, cal = load(root / "calendar.yaml", Calendar)
    scoring_doc, scoring = load(root / "scoring.yaml", Scoring)
    settings_path = root / "settings.yaml"
    settings = load(settings_path, Settings)[1] if settings_path.exists() else Settings()
    plan_files = sorted((root / "plans").glob("*.yaml"))
    if not plan_files:
        problems.append(ConfigProblem(shown(root / "plans"), 1, "", "no plan files (*.yaml) found"))
    plans: dict[str, Plan] = {}
    owners: dict[str, tuple[str, str, int]] = {}
    for pf in plan_files:
        doc, plan = load(pf, Plan)
        if doc is None or plan is None:
            continue
        if org is not None:
            check_plan(plan, doc, org)
        for ident, loc in _plan_ids(doc):
            if ident in owners and owners[ident][0] != plan.id:
                other_plan, other_file, other_line = owners[ident]
                doc.problems.append(doc.problem(
                    loc, f"id '{ident}' is already used by plan {other_plan} ({other_file}:{other_line}); ids must be unique across plans"))
            owners.setdefault(ident, (plan.id, doc.file, doc.line(loc)))
        problems.extend(doc.problems)
        if plan.id in plans:
            problems.append(doc.problem(("id",), f"plan id '{plan.id}' is used by two files"))
        plans[plan.id] = plan
    if scoring is not None and scoring_doc is not None and len(plans) == len(plan_files):  # else they would cascade
        known = {i.id for p in plans.values() for _, _, i in p.indicators()}
        for ind_id in scoring.rag.indicators:
            if ind_id not in known:
                problems.append(scoring_doc.problem(("rag", "indicators", ind_id), f"no indicator '{ind_id}' in any plan"))
    committees = None
    committees_path = root / "committees.yaml"
    if committees_path.exists():
        cdoc, committees = load(committees_path, Committees)
        if committees is not None and cdoc is not None:
            plan = plans.get(committees.plan)
            if plan is None:
                if len(plans) == len(plan_files):
                    problems.append(cdoc.problem(("plan",), f"no plan '{committees.plan}' (known: {', '.join(sorted(plans))})"))
            else:
                known = {"outcomes": {o.id for o in plan.groups()}, "sub_outcomes": {s.id for _, s in plan.sub_outcomes()},
                         "indicators": {i.id for _, _, i in plan.indicators()}}
                for ci, c in enumerate(committees.committees):
                    for kind, ids in (("outcomes", c.outcomes), ("sub_outcomes", c.sub_outcomes), ("indicators", c.indicators)):
                        for k, ident in enumerate(ids):
                            if ident not in known[kind]:
                                problems.append(cdoc.problem(("committees", ci, kind, k),
                                                             f"committee {c.id} covers unknown {kind[:-1].replace('_', '-')} '{ident}'"))
    if problems or org is None or cal is None or settings is None or scoring is None:
        raise ConfigError(problems)
    return Config(root, plans, org, cal, settings, scoring, committees)
