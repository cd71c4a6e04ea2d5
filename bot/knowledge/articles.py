"""Load and validate a knowledge base: `topics.yml` plus Markdown articles with YAML front matter.

`load_knowledge_base` never raises on bad content: it returns every article it could read
and every problem it found, each with the file and line, so `lantern kb check` can report
them all at once and indexing can refuse a broken set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Optional

import yaml

KINDS = ("education", "case-study", "news", "service", "pricing")
SALES_KINDS = frozenset({"service", "pricing"})
REQUIRED_FIELDS = ("id", "title", "url", "topics", "kind", "summary", "why_it_matters")
OPTIONAL_FIELDS = ("related", "asks")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
SECTION_HEADING = re.compile(r"^##\s+(.+?)\s*#*\s*$")
FRONT_MATTER_FENCE = "---"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the knowledge base, located as precisely as possible."""

    path: Path
    line: int
    message: str

    def format(self, root: Optional[Path] = None) -> str:
        shown = self.path
        if root is not None:
            try:
                shown = self.path.relative_to(root)
            except ValueError:
                pass
        return f"{shown}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Section:
    """A `##` section of an article body: the unit search returns."""

    heading: str
    text: str
    line: int


@dataclass(frozen=True)
class ArticleFields:
    """An article's front matter, the one place its fields are listed: the loaded article,
    the indexed article, a search result and the index's table rows are all built from it."""

    id: str
    title: str
    url: str
    topics: tuple[str, ...]
    kind: str
    summary: str
    why_it_matters: str
    related: tuple[str, ...]
    asks: tuple[str, ...]

    def front_matter(self) -> dict[str, Any]:
        """The front-matter fields by name, in their order."""
        return {name: getattr(self, name) for name in FRONT_MATTER}


FRONT_MATTER = tuple(f.name for f in fields(ArticleFields))


@dataclass(frozen=True)
class Article(ArticleFields):
    intro: str
    sections: tuple[Section, ...]
    path: Path

    @property
    def primary_topic(self) -> str:
        return self.topics[0]

    @property
    def is_sales_page(self) -> bool:
        return self.kind in SALES_KINDS


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    description: str = ""


@dataclass
class KnowledgeBase:
    root: Path
    company: Optional[str] = None
    topics: dict[str, Topic] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)
    articles: list[Article] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def article(self, article_id: str) -> Optional[Article]:
        return next((a for a in self.articles if a.id == article_id), None)


def load_knowledge_base(root: Path) -> KnowledgeBase:
    """Read `root/topics.yml` and every `root/articles/**/*.md`, collecting all problems."""
    root = Path(root)
    kb = KnowledgeBase(root=root)
    if not root.is_dir():
        kb.problems.append(Problem(root, 0, "knowledge base folder does not exist"))
        return kb
    _load_topics(root / "topics.yml", kb)

    articles_dir = root / "articles"
    paths = sorted(articles_dir.rglob("*.md")) if articles_dir.is_dir() else []
    if not paths:
        kb.problems.append(Problem(articles_dir, 0, "no articles found (expected articles/**/*.md)"))
    for path in paths:
        article = _load_article(path, kb)
        if article is not None:
            kb.articles.append(article)
    _check_cross_references(kb)
    return kb


def _load_topics(path: Path, kb: KnowledgeBase) -> None:
    if not path.is_file():
        kb.problems.append(Problem(path, 0, "topics.yml is missing"))
        return
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        kb.problems.append(Problem(path, _yaml_error_line(error), f"invalid YAML: {_yaml_reason(error)}"))
        return
    except UnicodeDecodeError:
        kb.problems.append(Problem(path, 0, "file is not UTF-8 text"))
        return
    if not isinstance(data, dict) or not isinstance(data.get("topics"), list):
        kb.problems.append(Problem(path, 1, "expected a mapping with a `topics:` list"))
        return
    company = data.get("company")
    kb.company = str(company) if company else None
    synonyms = data.get("synonyms") or {}
    if not isinstance(synonyms, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip() for k, v in synonyms.items()
    ):
        kb.problems.append(Problem(path, 1, "`synonyms` must map visitor words to the words articles use (text: text)"))
    else:
        kb.synonyms = {k.strip().lower(): v.strip().lower() for k, v in synonyms.items()}
    topic_lines = _topic_lines(text)
    for index, entry in enumerate(data["topics"]):
        line = topic_lines[index] if index < len(topic_lines) else 1
        if not isinstance(entry, dict) or not entry.get("id") or not entry.get("title"):
            kb.problems.append(Problem(path, line, f"topic #{index + 1} needs an `id` and a `title`"))
            continue
        topic_id = str(entry["id"])
        if not ID_PATTERN.match(topic_id):
            kb.problems.append(Problem(path, line, f"topic id {topic_id!r} must be a lowercase slug"))
        if topic_id in kb.topics:
            kb.problems.append(Problem(path, line, f"duplicate topic id {topic_id!r}"))
        kb.topics[topic_id] = Topic(topic_id, str(entry["title"]), str(entry.get("description", "")))


def _topic_lines(text: str) -> list[int]:
    """Line (1-based) where each entry of the `topics:` list starts."""
    node = yaml.compose(text)
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if key.value == "topics" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _yaml_error_line(error: yaml.YAMLError, offset: int = 0) -> int:
    mark = getattr(error, "problem_mark", None)
    return (mark.line + 1 + offset) if mark is not None else offset + 1


def _yaml_reason(error: yaml.YAMLError) -> str:
    return str(getattr(error, "problem", None) or error).strip()


def _split_front_matter(text: str) -> Optional[tuple[str, str, int]]:
    """Return (front matter, body, line number where the body starts) or None."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != FRONT_MATTER_FENCE:
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() == FRONT_MATTER_FENCE:
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :]), index + 2
    return None


def _field_lines(front_matter: str) -> dict[str, int]:
    """Line (1-based, in the file) of each top-level key; the front matter starts on line 2."""
    try:
        node = yaml.compose(front_matter)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {key.value: key.start_mark.line + 2 for key, _ in node.value}


def _load_article(path: Path, kb: KnowledgeBase) -> Optional[Article]:
    problems_before = len(kb.problems)

    def problem(line: int, message: str) -> None:
        kb.problems.append(Problem(path, line, message))

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        problem(0, "file is not UTF-8 text")
        return None
    split = _split_front_matter(text)
    if split is None:
        problem(1, "missing YAML front matter (the file must start with a `---` block that is closed by `---`)")
        return None
    front_matter, body, body_line = split
    try:
        meta = yaml.safe_load(front_matter)
    except yaml.YAMLError as error:
        problem(_yaml_error_line(error, offset=1), f"invalid YAML in front matter: {_yaml_reason(error)}")
        return None
    if not isinstance(meta, dict):
        problem(2, "front matter must be a YAML mapping of fields")
        return None

    lines = _field_lines(front_matter)
    def line_of(name: str) -> int:
        return lines.get(name, 1)

    for name in REQUIRED_FIELDS:
        if name not in meta or meta[name] in (None, "", []):
            problem(1, f"missing required field `{name}`")
    for name in meta:
        if name not in REQUIRED_FIELDS + OPTIONAL_FIELDS:
            problem(line_of(name), f"unknown field `{name}` (allowed: {', '.join(REQUIRED_FIELDS + OPTIONAL_FIELDS)})")

    def text_field(name: str) -> str:
        value = meta.get(name)
        if value is None:
            return ""
        if not isinstance(value, str):
            problem(line_of(name), f"`{name}` must be text")
            return str(value)
        return value.strip()

    def list_field(name: str) -> tuple[str, ...]:
        value = meta.get(name)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            problem(line_of(name), f"`{name}` must be a list of non-empty texts")
            return ()
        return tuple(v.strip() for v in value)

    article_id = text_field("id")
    if article_id and not ID_PATTERN.match(article_id):
        problem(line_of("id"), f"id {article_id!r} must be a lowercase slug (a-z, 0-9, -)")
    url = text_field("url")
    if url and not re.match(r"^https?://\S+$", url):
        problem(line_of("url"), f"url {url!r} must be an absolute http(s) address")
    kind = text_field("kind")
    if kind and kind not in KINDS:
        problem(line_of("kind"), f"kind {kind!r} is not one of {', '.join(KINDS)}")
    topics = list_field("topics")
    for topic in topics:
        if kb.topics and topic not in kb.topics:
            problem(line_of("topics"), f"topic {topic!r} is not declared in topics.yml")

    intro, sections, section_problems = _split_sections(body, body_line)
    for line, message in section_problems:
        problem(line, message)
    if not body.strip():
        problem(body_line, "article body is empty")
    elif not sections:
        problem(body_line, "article has no `##` sections (sections are what search returns)")

    if len(kb.problems) > problems_before:
        return None
    return Article(
        id=article_id,
        title=text_field("title"),
        url=url,
        topics=topics,
        kind=kind,
        summary=text_field("summary"),
        why_it_matters=text_field("why_it_matters"),
        related=list_field("related"),
        asks=list_field("asks"),
        intro=intro,
        sections=tuple(sections),
        path=path,
    )


def _split_sections(body: str, first_line: int) -> tuple[str, list[Section], list[tuple[int, str]]]:
    intro: list[str] = []
    sections: list[Section] = []
    problems: list[tuple[int, str]] = []
    heading: Optional[str] = None
    heading_line = first_line
    current: list[str] = []

    def close() -> None:
        if heading is None:
            return
        content = "\n".join(current).strip()
        if not content:
            problems.append((heading_line, f"section {heading!r} is empty"))
        sections.append(Section(heading, content, heading_line))

    for offset, line in enumerate(body.splitlines()):
        match = SECTION_HEADING.match(line)
        if match:
            close()
            heading, heading_line, current = match.group(1), first_line + offset, []
        elif heading is None:
            intro.append(line)
        else:
            current.append(line)
    close()
    return "\n".join(intro).strip(), sections, problems


def _check_cross_references(kb: KnowledgeBase) -> None:
    seen: dict[str, Article] = {}
    for article in kb.articles:
        if article.id in seen:
            kb.problems.append(
                Problem(article.path, 2, f"duplicate id {article.id!r} (also in {seen[article.id].path.name})")
            )
        else:
            seen[article.id] = article
    for article in kb.articles:
        for target in article.related:
            if target not in seen:
                kb.problems.append(Problem(article.path, 1, f"related article {target!r} does not exist"))
            elif target == article.id:
                kb.problems.append(Problem(article.path, 1, "article lists itself as related"))
