"""`milsetctl gallery`: the static virtual gallery (issue 8) built from a validated contest with faked awards."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jury_fixtures import jury_workspace
from PIL import Image, ImageChops, ImageOps, ImageStat
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.gallery import GalleryError, build_gallery
from milsetctl.gallery.images import THUMB_PX, WEB_PX

ANON = ["K7QX2M", "P3RT9A", "Z8WB4C", "H2NM6D", "Q9LF3E", "T4VS7F", "X6JC2G", "M5DK8H"]
GLOBAL = ["global-1", "global-2", "global-3", "gallery", "gallery", "gallery", "gallery", "gallery"]


class Links(HTMLParser):
    """Every href/src, every <img alt>, every element's lang with its text."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.imgs: list[dict[str, str | None]] = []
        self.langs: list[tuple[str, str]] = []
        self._lang_stack: list[str | None] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("href"):
            self.hrefs.append(str(a["href"]))
        if tag == "img":
            self.imgs.append(a)
        if tag == "span":
            self._lang_stack.append(a.get("lang"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._lang_stack:
            self._lang_stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._lang_stack and self._lang_stack[-1]:
            self.langs.append((self._lang_stack[-1], data))


def parse(path: Path) -> Links:
    parser = Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def global_awards(ws, count: int = 8) -> None:  # type: ignore[no-untyped-def]
    rows = [{"entry_id": f"E{i + 1:04d}", "anon_id": ANON[i], "category": None, "score": 90.0 - i, "rank": i + 1,
             "award": GLOBAL[i] if i < count else None} for i in range(8)]
    ws.ledger.save_awards(rows, "global")


def test_global_gallery_pages_exist_link_and_describe(tmp_path: Path) -> None:
    with jury_workspace(tmp_path, stage="global") as ws:
        global_awards(ws)
        gallery = build_gallery(ws)
        root = Path(ws.root) / "gallery"
    assert gallery.out == root and gallery.stage == "global"
    assert [p.entry_id for p in gallery.photos] == [f"E{i:04d}" for i in range(1, 9)]  # rank order
    keys = [p.key for p in gallery.photos]
    index = parse(root / "index.html")
    pages = [h for h in index.hrefs if h.endswith(".html") and h != "index.html"]
    assert pages == [f"{k}.html" for k in keys]
    html = (root / "index.html").read_text(encoding="utf-8")
    assert "<h1>Global top 8</h1>" in html
    assert '<html lang="en">' in html and 'href="gallery.css"' in html and 'class="skip" href="#main"' in html
    assert "<main" in html and "<header" in html and "<h1>" in html
    assert not re.search(r"https?://", html)  # no CDN: works offline
    # alt text = the student's description, on thumbnails and on the large photo
    assert [i["alt"] for i in index.imgs] == [f"Stars over the hills, photo {i}." for i in range(1, 9)]
    # names as [gallery] names allows (default "initials": the contestants are minors); a Han name is marked
    # Chinese (by the name as written: "张*" has no Han letter after the first), a Latin one is not
    assert ("zh", "张*") in index.langs and ("zh", "刘*") in index.langs
    assert not any("Maria" in text for _, text in index.langs)
    assert "Maria G." in html and "García" not in html and "张伟" not in html
    for n, key in enumerate(keys):
        page = parse(root / f"{key}.html")
        assert page.imgs[0]["src"] == f"images/{key}.jpg"
        assert page.imgs[0]["alt"] == f"Stars over the hills, photo {n + 1}."
        for href in page.hrefs:  # every link leads to a file that is there
            assert (root / href.split("#")[0]).is_file() or href.startswith("#"), href
        prev_link = f'rel="prev" href="{keys[n - 1]}.html"'
        next_link = f'rel="next" href="{keys[n + 1]}.html"' if n + 1 < len(keys) else None
        text = (root / f"{key}.html").read_text(encoding="utf-8")
        assert (prev_link in text) == (n > 0)
        assert next_link is None or next_link in text
    assert "First prize" in (root / f"{keys[0]}.html").read_text(encoding="utf-8")
    # files are named by the gallery's own IDs, never by the contestant's name
    names = sorted(p.name for p in (root / "images").iterdir())
    assert names == sorted([f"{k}.jpg" for k in keys] + [f"{k}-{THUMB_PX}.jpg" for k in keys])
    assert (root / "gallery.css").is_file()


def test_script_in_title_and_name_shows_as_text(tmp_path: Path) -> None:
    with jury_workspace(tmp_path, stage="global") as ws:
        ws.ledger.db.execute("UPDATE entries SET title=?, description=? WHERE entry_id='E0001'",
                             ("<script>alert(1)</script>", 'A "quoted" <b>bold</b> sky & stars'))
        ws.ledger.db.commit()
        global_awards(ws)
        keys = [p.key for p in build_gallery(ws).photos]
        root = Path(ws.root) / "gallery"
    for page in (root / "index.html", root / f"{keys[0]}.html", root / f"{keys[1]}.html"):
        html = page.read_text(encoding="utf-8")
        assert "<script" not in html and "<b>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    parsed = parse(root / f"{keys[0]}.html")
    assert parsed.imgs[0]["alt"] == 'A "quoted" <b>bold</b> sky & stars'  # attribute escaped, decodes back
    assert "<script>alert(1)</script>" in "".join(parsed.text)


def test_gallery_images_hold_no_metadata_and_are_upright(tmp_path: Path) -> None:
    with jury_workspace(tmp_path, stage="global") as ws:
        global_awards(ws)
        keys = [p.key for p in build_gallery(ws).photos]
        root = Path(ws.root) / "gallery"
        rotated_original = Path(ws.settings.source) / ws.ledger.entry("E0002")["file"]
    for path in (root / "images").iterdir():
        data = path.read_bytes()
        assert data[:2] == b"\xff\xd8"
        for needle in (b"Exif\x00", b"http://ns.adobe.com/xap", b"<x:xmpmeta", b"ICC_PROFILE", b"Photoshop 3.0",
                       b"Canon", b"example", "张伟".encode(), b"Maria", b"SEFH"):
            assert needle not in data, (path.name, needle)
        assert b"\xff\xe1" not in data[:data.find(b"\xff\xda")]  # no APP1 segment before the scan
        with Image.open(path) as im:
            assert not im.getexif() and "icc_profile" not in im.info and "comment" not in im.info
            assert max(im.size) == (THUMB_PX if path.stem.endswith(f"-{THUMB_PX}") else WEB_PX)
    # E0002 is stored 1800x2400 with EXIF Orientation 6: shown upright it is landscape
    with Image.open(root / "images" / f"{keys[1]}.jpg") as im, Image.open(rotated_original) as orig:
        assert im.size == (1600, 1200)
        upright = ImageOps.exif_transpose(orig).convert("RGB").resize(im.size)
        wrong = orig.convert("RGB").rotate(-90, expand=True).transpose(Image.Transpose.ROTATE_180).resize(im.size)
        good = sum(ImageStat.Stat(ImageChops.difference(im.convert("RGB"), upright)).mean)
        bad = sum(ImageStat.Stat(ImageChops.difference(im.convert("RGB"), wrong)).mean)
        assert good < 6 < bad


def test_national_gallery_shows_qualifiers_per_category(tmp_path: Path) -> None:
    with jury_workspace(tmp_path) as ws:
        cats = {e["entry_id"]: e["category"] for e in ws.ledger.entries()}
        rows = []
        for i, entry_id in enumerate(sorted(cats)):
            rows.append({"entry_id": entry_id, "anon_id": ANON[i], "category": cats[entry_id], "score": 80.0 - i,
                         "rank": i // 2 + 1, "award": "qualifier" if i in (0, 1, 2, 5) else None})
        ws.ledger.save_awards(rows, "national")
        gallery = build_gallery(ws, tmp_path / "site")
    assert gallery.stage == "national"
    # middle first (E0001, E0003), then high (E0002, E0006); E0004/5/7/8 did not qualify
    assert [(p.entry_id, p.category) for p in gallery.photos] == [
        ("E0001", "middle"), ("E0003", "middle"), ("E0002", "high"), ("E0006", "high")]
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "National qualifiers" in html
    assert html.index("Middle school") < html.index("High school")
    assert html.count('class="card"') == 4 and "Olga" not in html
    assert sorted(p.name for p in (tmp_path / "site").glob("*.html")) == sorted(
        ["index.html"] + [f"{p.key}.html" for p in gallery.photos])


def test_no_awards_says_run_awards_first(tmp_path: Path) -> None:
    """Nothing after validate: the gallery names every command still to run, in order."""
    chain = "run `milsetctl anonymise`, then `milsetctl score SHEETS...`, then `milsetctl awards`"
    with jury_workspace(tmp_path) as ws:
        with pytest.raises(GalleryError, match=re.escape(chain)) as caught:
            build_gallery(ws)
        assert caught.value.code == 1
        root = ws.root
    result = CliRunner().invoke(app, ["gallery", "-w", str(root)])
    assert result.exit_code == 1
    assert chain in " ".join(result.output.split())
    assert not (Path(root) / "gallery").exists()


def test_rerun_reuses_images_and_drops_pages_no_longer_awarded(tmp_path: Path) -> None:
    with jury_workspace(tmp_path, stage="global") as ws:
        global_awards(ws)
        first = build_gallery(ws)
        assert first.made == 16 and first.reused == 0
        global_awards(ws, count=3)
        second = build_gallery(ws)
        root = Path(ws.root) / "gallery"
    assert second.made == 0 and second.reused == 6
    assert [p.key for p in second.photos] == [p.key for p in first.photos[:3]]  # a page keeps its address
    assert sorted(p.name for p in root.glob("*.html")) == sorted(["index.html"] + [f"{p.key}.html"
                                                                                  for p in second.photos])
    assert len(list((root / "images").iterdir())) == 6
    assert not list(root.rglob("*.tmp"))


def test_cli_gallery_json(tmp_path: Path) -> None:
    with jury_workspace(tmp_path, stage="global") as ws:
        global_awards(ws, count=4)
        root = ws.root
    result = CliRunner().invoke(app, ["gallery", "-w", str(root), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["stage"] == "global" and Path(doc["gallery"]).is_file()
    assert [e["award"] for e in doc["entries"]] == ["global-1", "global-2", "global-3", "gallery"]
    assert [e["page"] for e in doc["entries"]] == [f"{e['key']}.html" for e in doc["entries"]]
    assert not {e["key"] for e in doc["entries"]} & set(ANON)


def test_han_names_are_marked_chinese() -> None:
    from milsetctl.gallery.build import is_han

    assert is_han("张伟") and is_han("刘䶮") and is_han("𠮷田") and is_han("欧阳·娜娜")
    assert not is_han("Maria García") and not is_han("Ольга") and not is_han("张 Wei") and not is_han("")


def test_missing_photo_is_left_out_with_a_warning_and_out_in_source_refused(tmp_path: Path) -> None:
    with jury_workspace(tmp_path, stage="global") as ws:
        global_awards(ws, count=4)
        (Path(ws.settings.source) / ws.ledger.entry("E0003")["file"]).unlink()
        gallery = build_gallery(ws, tmp_path / "site")
        with pytest.raises(GalleryError, match="submissions folder") as caught:
            build_gallery(ws, Path(ws.settings.source) / "gallery")
        assert caught.value.code == 2
    assert [p.entry_id for p in gallery.photos] == ["E0001", "E0002", "E0004"]
    assert len(gallery.warnings) == 1 and gallery.warnings[0].startswith("E0003: photo not found")
    keys = [p.key for p in gallery.photos]
    assert f'rel="next" href="{keys[2]}.html"' in (tmp_path / "site" / f"{keys[1]}.html").read_text(encoding="utf-8")


def _swapped_primaries_icc() -> bytes:
    """An sRGB profile with its red and blue colorants swapped: pixels (255, 0, 0) under it are sRGB blue, so a
    gallery image that keeps the colour must convert, not just drop the profile."""
    import struct

    from PIL import ImageCms

    raw = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    count = struct.unpack(">I", raw[128:132])[0]
    where = {bytes(raw[132 + 12 * i:136 + 12 * i]): 132 + 12 * i for i in range(count)}
    red, blue = where[b"rXYZ"], where[b"bXYZ"]
    raw[red + 4:red + 12], raw[blue + 4:blue + 12] = raw[blue + 4:blue + 12], raw[red + 4:red + 12]
    raw[84:100] = b"\x00" * 16
    return bytes(raw)


def test_icc_profile_is_applied_then_dropped(tmp_path: Path) -> None:
    with jury_workspace(tmp_path, stage="global") as ws:
        photo = Path(ws.settings.source) / ws.ledger.entry("E0001")["file"]
        profile = _swapped_primaries_icc()
        Image.new("RGB", (800, 600), (230, 20, 20)).save(photo, "JPEG", quality=95, icc_profile=profile)
        global_awards(ws, count=1)
        key = build_gallery(ws).photos[0].key
        image = Path(ws.root) / "gallery" / "images" / f"{key}.jpg"
    data = image.read_bytes()
    assert b"ICC_PROFILE" not in data
    with Image.open(image) as im:
        r, g, b = (round(v) for v in ImageStat.Stat(im.convert("RGB")).mean)
    assert b > 150 and r < 100, (r, g, b)  # shown as the profile means it: blue, not the raw red numbers


def test_cli_gallery_table_and_rerun(tmp_path: Path) -> None:
    with jury_workspace(tmp_path, stage="global") as ws:
        global_awards(ws, count=2)
        root = ws.root
    runner = CliRunner()
    first = runner.invoke(app, ["gallery", "-w", str(root)], env={"COLUMNS": "200"})
    second = runner.invoke(app, ["gallery", "-w", str(root), "--out", str(tmp_path / "copy")], env={"COLUMNS": "200"})
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "E0001" in first.stdout and "images made 4, reused 0" in first.stdout
    assert re.search(r"\b[a-z2-9]{8}\.html", first.stdout) and not any(a in first.stdout for a in ANON)
    assert "images made 0, reused 4" in second.stdout  # the cache is the workspace's, whatever --out says
    assert (tmp_path / "copy" / "index.html").is_file() and (tmp_path / "copy" / "gallery.css").is_file()


def test_country_shows_one_spelling_per_country(tmp_path: Path) -> None:
    """The newcomer's gallery said "· 中国" for one entry and "· China" for the others: every spelling of a
    country shows as one name (pycountry's, as the jury's conflict check matches them)."""
    from dataclasses import replace

    from jury_fixtures import PEOPLE

    from milsetctl.jury.conflicts import country_name

    people = [replace(PEOPLE[0], country="中国"), PEOPLE[2], replace(PEOPLE[4], country=" cn "),
              replace(PEOPLE[3], country="Russian Federation")]
    with jury_workspace(tmp_path, people=people, png_every=0, stage="global") as ws:
        global_awards(ws, count=4)
        first_key = build_gallery(ws).photos[0].key
        root = Path(ws.root) / "gallery"
    html = (root / "index.html").read_text(encoding="utf-8")
    wheres = re.findall(r'<p class="where">(.*?)</p>', html, re.S)
    assert [w.rsplit("·", 1)[1].strip() for w in wheres] == ["China", "China", "China", "Russia"]
    assert "中国" not in html
    assert "· China" in (root / f"{first_key}.html").read_text(encoding="utf-8")
    assert [country_name(c) for c in ("中華人民共和國", "KOR", "Atlantis ", None)] == ["China", "South Korea",
                                                                                    "Atlantis", ""]


def test_gallery_names_are_its_own_not_the_jury_ids(tmp_path: Path) -> None:
    """Issue 15: pages and images named by the jury's anonymous IDs tied a juror's sheet (anon ID -> scores) to a
    named student on the public gallery. The gallery draws its own IDs, keeps them across re-runs, and an earlier
    gallery's pages named by anonymous ID are removed."""
    with jury_workspace(tmp_path, stage="global") as ws:
        global_awards(ws)
        root = Path(ws.root) / "gallery"
        (root / "images").mkdir(parents=True)
        (root / f"{ANON[0]}.html").write_text("<p>an old page</p>", encoding="utf-8")  # as the gallery named it
        (root / "images" / f"{ANON[0]}.jpg").write_bytes(b"\xff\xd8old")
        first = build_gallery(ws)
        second = build_gallery(ws)
        stored = json.loads(ws.ledger.meta_value("gallery_ids") or "{}")
    keys = [p.key for p in first.photos]
    assert len(set(keys)) == 8 and all(re.fullmatch(r"[a-z2-9]{8}", k) for k in keys)
    assert keys == [p.key for p in second.photos] and stored == {p.entry_id: p.key for p in first.photos}
    files = sorted(p for p in root.rglob("*") if p.is_file())
    for path in files:
        text = path.read_bytes().decode("utf-8", "ignore")
        for anon in ANON:
            assert anon not in path.name and anon.lower() not in path.name.lower()
            assert anon not in text, (path.name, anon)
    assert not (root / f"{ANON[0]}.html").exists() and not (root / "images" / f"{ANON[0]}.jpg").exists()


def _sharp_photo(size: tuple[int, int]) -> Image.Image:
    """Smooth gradients crossed by thin lines, rings and an 8 px checkerboard: edges where a cheap resize shows
    (jaggies, lost lines), on a background a JPEG keeps well."""
    from PIL import ImageDraw

    w, h = size
    ramp = Image.linear_gradient("L").resize(size)
    im = Image.merge("RGB", (ramp, ramp.transpose(Image.Transpose.ROTATE_180), Image.new("L", size, 120)))
    draw = ImageDraw.Draw(im)
    for x in range(0, w, 37):
        draw.line([(x, 0), (x + h // 3, h)], fill=((x * 7) % 256, 40, 200), width=1 + x % 3)
    for r in range(40, min(w, h) // 2, 55):
        draw.ellipse([w // 2 - r, h // 2 - r, w // 2 + r, h // 2 + r], outline=(250, 250, 30), width=2)
    for x in range(0, w // 4, 8):
        for y in range(0, h // 4, 8):
            if (x // 8 + y // 8) % 2:
                draw.rectangle([x, y, x + 7, y + 7], fill=(0, 0, 0))
    return im


def _mad(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel, 0-255."""
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def test_images_decoded_at_draft_scale_match_a_lanczos_reference(tmp_path: Path) -> None:
    """Issue 18: a 12 MP camera JPEG is decoded at 1/2 scale and shrunk with a box reduction and one BICUBIC pass,
    not LANCZOS from the full frame. What a visitor sees must not suffer: each image is the size a LANCZOS
    resize of the full, upright decode has, and differs from that reference by no more (+0.5 of 255) than the
    reference itself loses to the gallery's JPEG quality. (A plain box resize fails this: +1.0.)"""
    import io

    from milsetctl.gallery.images import QUALITY

    with jury_workspace(tmp_path, stage="global") as ws:
        photo = Path(ws.settings.source) / ws.ledger.entry("E0001")["file"]
        exif = Image.Exif()
        exif[0x0112] = 6  # stored 4000x3000, shown upright as 3000x4000
        _sharp_photo((4000, 3000)).save(photo, "JPEG", quality=92, exif=exif.tobytes())
        global_awards(ws, count=1)
        key = build_gallery(ws).photos[0].key
        images = Path(ws.root) / "gallery" / "images"
    with Image.open(photo) as im:
        full = ImageOps.exif_transpose(im).convert("RGB")
    for px, name in ((WEB_PX, f"{key}.jpg"), (THUMB_PX, f"{key}-{THUMB_PX}.jpg")):
        reference = full.copy()
        reference.thumbnail((px, px), Image.Resampling.LANCZOS, reducing_gap=None)
        buf = io.BytesIO()
        reference.save(buf, "JPEG", quality=QUALITY)
        with Image.open(buf) as encoded:
            jpeg_loss = _mad(encoded, reference)
        with Image.open(images / name) as got:
            assert got.size == reference.size == (px * 3 // 4, px)
            assert _mad(got, reference) <= jpeg_loss + 0.5, (name, _mad(got, reference), jpeg_loss)


def test_worker_processes_make_the_same_gallery_with_progress(tmp_path: Path) -> None:
    """The images are made by a pool of processes on a large gallery: two workers write byte for byte what one
    process writes, report each photo to the progress callback, and a photo that cannot be decoded is left out
    with a warning from either."""
    sites = {}
    for workers in (1, 2):
        calls: list[tuple[int, int]] = []
        with jury_workspace(tmp_path / f"w{workers}", stage="global") as ws:
            (Path(ws.settings.source) / ws.ledger.entry("E0005")["file"]).write_bytes(b"\xff\xd8\xff\xe0 broken")
            global_awards(ws)
            gallery = build_gallery(ws, progress=lambda done, total, seen=calls: seen.append((done, total)),
                                    workers=workers)
            root = Path(ws.root) / "gallery" / "images"
        assert calls == [(i, 8) for i in range(9)]
        assert [p.entry_id for p in gallery.photos] == ["E0001", "E0002", "E0003", "E0004", "E0006", "E0007",
                                                        "E0008"]
        assert len(gallery.warnings) == 1 and gallery.warnings[0].startswith("E0005: ")
        assert "cannot decode the photo" in gallery.warnings[0] and gallery.made == 14
        sites[workers] = [(root / p.image.split("/")[1]).read_bytes() + (root / p.thumb.split("/")[1]).read_bytes()
                          for p in gallery.photos]
    assert sites[1] == sites[2]


def test_photo_the_stat_cache_vouches_for_is_not_read_again(tmp_path: Path) -> None:
    """7,000 originals are ~30 GB: a re-run takes a photo's cached images without reading it when validate's stat
    cache vouches for the file (same size and modification time as when it was hashed). A file changed since
    (another modification time) is read again."""
    import hashlib
    import os

    with jury_workspace(tmp_path, stage="global") as ws:
        global_awards(ws, count=2)
        photos = [Path(ws.settings.source) / ws.ledger.entry(e)["file"] for e in ("E0001", "E0002")]
        for path in photos:
            st = path.stat()
            ws.ledger.remember_file(str(path), st.st_size, st.st_mtime_ns,
                                    hashlib.sha256(path.read_bytes()).hexdigest())
        ws.ledger.db.commit()
        first = build_gallery(ws)
        for path in photos:  # same size, garbage inside; E0001 keeps its modification time, E0002 does not
            st = path.stat()
            path.write_bytes(b"\x00" * st.st_size)
            if path == photos[0]:
                os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        second = build_gallery(ws, tmp_path / "again")
    assert first.made == 4
    assert [p.entry_id for p in second.photos] == ["E0001"] and second.reused == 2 and second.made == 0
    assert second.warnings and second.warnings[0].startswith("E0002: ") and "cannot decode" in second.warnings[0]
    assert (tmp_path / "again" / second.photos[0].image).read_bytes() == \
        (Path(first.out) / first.photos[0].image).read_bytes()


def _set_names(ws, mode: str) -> None:  # type: ignore[no-untyped-def]
    """[gallery] names in contest.toml, read again by the open workspace."""
    from milsetctl.settings import load

    path = Path(ws.root) / "contest.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r'(?m)^names = ".*"$', f'names = "{mode}"', text), encoding="utf-8")
    ws.settings = load(path)


def test_names_in_public_and_entries_without_consent_left_out(tmp_path: Path) -> None:
    """Issue 19: the gallery shows names as [gallery] names allows, and leaves out an entry whose manifest row
    withholds consent to publication (a blank cell in that column too), saying which."""
    with jury_workspace(tmp_path, stage="global") as ws:
        ws.ledger.db.execute("UPDATE entries SET extra=? WHERE entry_id='E0004'",
                             (json.dumps({"publication_consent": "否"}),))
        ws.ledger.db.execute("UPDATE entries SET extra=? WHERE entry_id='E0006'",
                             (json.dumps({"publication_consent": ""}),))
        ws.ledger.db.execute("UPDATE entries SET extra=? WHERE entry_id='E0002'",
                             (json.dumps({"publication_consent": "Yes"}),))
        ws.ledger.db.commit()
        global_awards(ws)
        gallery = build_gallery(ws)
        root = Path(ws.root) / "gallery"
        html = (root / "index.html").read_text(encoding="utf-8")
        assert [p.entry_id for p in gallery.photos] == ["E0001", "E0002", "E0003", "E0005", "E0007", "E0008"]
        assert gallery.no_consent == ["E0004", "E0006"]
        assert gallery.as_json()["left_out_no_consent"] == ["E0004", "E0006"]
        assert "Olga" not in html and "Ahmed" not in html and "Night sky 4" not in html
        assert "Maria G." in html and "张*" in html
        _set_names(ws, "first-name")
        build_gallery(ws)
        html = (root / "index.html").read_text(encoding="utf-8")
        assert "Maria</p>" in html and ">伟<" in html and "Maria G." not in html
        _set_names(ws, "full")
        build_gallery(ws)
        html = (root / "index.html").read_text(encoding="utf-8")
        assert "Maria García" in html and "张伟" in html
        # the pages of entries left out are gone, not left behind from an earlier run
        assert len(list(root.glob("*.html"))) == 1 + 6
    result = CliRunner().invoke(app, ["gallery", "-w", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    assert "no consent to publication" in result.output and "E0004, E0006" in result.output

