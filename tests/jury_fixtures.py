"""A small contest whose entries are already validated, for the jury stages' tests.

`validate` is slow-ish (face and text detectors) and is tested on its own; the jury stages only need entries in
the ledger with a status, and photos in a SOURCE folder. `jury_workspace` writes both directly: photos that carry
every kind of identifying trace a real camera or editor leaves (EXIF Artist/Copyright/serials/GPS/UserComment,
XMP with the author, IPTC, a JPEG comment, an ICC profile whose description names the photographer, PNG text
chunks), so the anonymise tests can prove the package holds none of them.

Import as `from jury_fixtures import jury_workspace, PEOPLE`.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from conftest import photo_pixels
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from milsetctl.workspace import Workspace, init_workspace

# EXIF/TIFF tag numbers
ARTIST, COPYRIGHT, ORIENTATION, MAKE, MODEL, SOFTWARE = 0x013B, 0x8298, 0x0112, 0x010F, 0x0110, 0x0131
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
USER_COMMENT, OWNER_NAME, BODY_SERIAL, LENS_SERIAL, MAKER_NOTE = 0x9286, 0xA430, 0xA431, 0xA435, 0x927C


@dataclass(frozen=True)
class Person:
    contestant_id: str
    name: str
    school: str
    email: str
    grade: str
    category: str
    country: str = "China"
    province: str = "Beijing"


# Latin and Chinese names, schools in both scripts; categories 4 middle + 4 high by default
PEOPLE = [
    Person("CN2022-101", "张伟", "北京市第四中学", "zhangwei@example.cn", "8", "middle"),
    Person("CN2022-102", "Maria García", "Colegio San José", "maria.garcia@example.es", "11", "high", "Spain",
           "Madrid"),
    Person("CN2022-103", "刘䶮", "广州市第六中学", "liuyan@example.cn", "9", "middle", province="Guangdong"),
    Person("CN2022-104", "Olga Ivanova", "Novosibirsk Lyceum 130", "olga.ivanova@example.ru", "10", "high",
           "Russia", "Novosibirsk Oblast"),
    Person("CN2022-105", "王芳", "华中师范大学第一附属中学", "wangfang@example.cn", "7", "middle", province="Hubei"),
    Person("CN2022-106", "Ahmed Khan", "Lahore Grammar School", "ahmed.khan@example.pk", "12", "high", "Pakistan",
           "Punjab"),
    Person("CN2022-107", "赵磊", "杭州第二中学", "zhaolei@example.cn", "9", "middle", province="Zhejiang"),
    Person("CN2022-108", "陈静", "成都七中", "chenjing@example.cn", "11", "high", province="Sichuan"),
]


def _ascii_or_utf8(text: str) -> bytes:
    try:
        return text.encode("ascii")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def identifying_exif(person: Person, orientation: int = 1, serial: str = "SN-0042-7781") -> bytes:
    """EXIF with every identifying tag a camera or editor writes, plus camera make/model and GPS."""
    exif = Image.Exif()
    exif[MAKE] = "Canon"
    exif[MODEL] = "Canon EOS 90D"
    exif[SOFTWARE] = "Adobe Lightroom Classic 11.4"
    exif[ARTIST] = person.name
    exif[COPYRIGHT] = f"(c) {person.name}, {person.school}"
    exif[ORIENTATION] = orientation
    sub = exif.get_ifd(EXIF_IFD)
    sub[OWNER_NAME] = person.name
    sub[BODY_SERIAL] = serial
    sub[LENS_SERIAL] = "LENS-" + serial
    sub[USER_COMMENT] = b"UNICODE\x00" + f"{person.name} {person.email}".encode("utf-16-be")
    sub[MAKER_NOTE] = b"OwnerName\x00" + _ascii_or_utf8(person.name) + b"\x00" + serial.encode()
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (39.0, 54.0, 27.0)
    gps[3] = "E"
    gps[4] = (116.0, 23.0, 50.0)
    return exif.tobytes()


def xmp_packet(person: Person) -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/">'
        f"<dc:creator><rdf:Seq><rdf:li>{person.name}</rdf:li></rdf:Seq></dc:creator>"
        f"<photoshop:Credit>{person.school}</photoshop:Credit>"
        f"<photoshop:AuthorsPosition>{person.email}</photoshop:AuthorsPosition>"
        "</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>"
    ).encode()


def iptc_block(person: Person) -> bytes:
    """A Photoshop 'Image Resource Block' 0x0404 holding IPTC-IIM By-line (2:80) and Contact (2:118)."""
    def dataset(record: int, number: int, value: bytes) -> bytes:
        return bytes([0x1C, record, number]) + struct.pack(">H", len(value)) + value

    iim = dataset(1, 90, b"\x1b%G") + dataset(2, 80, person.name.encode("utf-8")) + dataset(
        2, 118, person.email.encode("utf-8"))
    if len(iim) % 2:
        iim += b"\x00"
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iim)) + iim
    return b"Photoshop 3.0\x00" + resource


def icc_with_description(text: str) -> bytes:
    """An sRGB ICC profile whose description tag names a person (editors let users type it)."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    raw = profile.tobytes()
    # Replace the 'desc' tag by an 'mluc' holding `text` in UTF-16BE, appended at the end of the profile.
    count = struct.unpack(">I", raw[128:132])[0]
    tags = [struct.unpack(">4sII", raw[132 + 12 * i:144 + 12 * i]) for i in range(count)]
    encoded = text.encode("utf-16-be")
    mluc = b"mluc" + b"\x00" * 4 + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(encoded), 28)
    mluc += encoded
    body = bytearray(raw)
    while len(body) % 4:
        body += b"\x00"
    offset = len(body)
    body += mluc
    table = bytearray()
    for sig, off, size in tags:
        if sig == b"desc":
            off, size = offset, len(mluc)
        table += struct.pack(">4sII", sig, off, size)
    body[132:132 + 12 * count] = table
    struct.pack_into(">I", body, 0, len(body))
    body[84:100] = b"\x00" * 16  # profile ID no longer matches: zero means "not computed"
    return bytes(body)


def _insert_segments(jpeg: bytes, segments: list[bytes]) -> bytes:
    """Insert raw marker segments right after SOI (and after an APP0/APP1 block Pillow wrote)."""
    assert jpeg[:2] == b"\xff\xd8"
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def identifying_jpeg(path: Path, person: Person, size: tuple[int, int] = (2400, 1600), seed: int = 0,
                     orientation: int = 1, trailer: bool = True) -> Path:
    """A JPEG carrying the person's name, school, e-mail, serials and GPS in every metadata block there is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    photo_pixels(size, seed).save(buf, "JPEG", quality=85, exif=identifying_exif(person, orientation),
                                  icc_profile=icc_with_description(f"Profile of {person.name}"))
    data = buf.getvalue()
    extra = [
        _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + xmp_packet(person)),
        _segment(0xED, iptc_block(person)),
        _segment(0xFE, f"Shot by {person.name} ({person.contestant_id})".encode()),
        _segment(0xFE, f"{person.name}".encode("utf-16-le")),
    ]
    data = _insert_segments(data, extra)
    if trailer:  # phones append data after EOI (depth maps, Samsung trailers) that can hold anything
        data += b"SEFH" + person.email.encode() + person.contestant_id.encode()
    path.write_bytes(data)
    return path


def identifying_png(path: Path, person: Person, size: tuple[int, int] = (2400, 1600), seed: int = 1) -> Path:
    """A PNG with tEXt/zTXt/iTXt chunks, an eXIf chunk and an iCCP profile named after the person."""
    path.parent.mkdir(parents=True, exist_ok=True)
    info = PngInfo()
    info.add_text("Author", person.contestant_id)
    info.add_text("Comment", f"{person.name} {person.school}", zip=True)
    info.add_itxt("Description", f"{person.name} — {person.email}", lang="zh", tkey="描述")
    buf = io.BytesIO()
    photo_pixels(size, seed).save(buf, "PNG", pnginfo=info, exif=identifying_exif(person),
                                  icc_profile=icc_with_description(f"Profile of {person.name}"), compress_level=1)
    data = buf.getvalue()
    # rename the iCCP profile (its keyword is free text) to the person's name
    pos = data.find(b"iCCP")
    length = struct.unpack(">I", data[pos - 4:pos])[0]
    chunk = data[pos + 4:pos + 4 + length]
    name_end = chunk.index(b"\x00")
    new_chunk = person.name.encode("latin-1", "replace")[:79] + chunk[name_end:]
    crc = struct.pack(">I", zlib.crc32(b"iCCP" + new_chunk) & 0xFFFFFFFF)
    data = data[:pos - 4] + struct.pack(">I", len(new_chunk)) + b"iCCP" + new_chunk + crc + data[pos + 8 + length:]
    path.write_bytes(data)
    return path


def jury_workspace(tmp_path: Path, people: list[Person] | None = None, png_every: int = 4,
                   statuses: dict[str, str] | None = None, stage: str = "national") -> Workspace:
    """A workspace whose ledger holds one validated entry per person (status eligible unless `statuses` says
    otherwise, keyed by contestant_id), with SOURCE photos full of identifying metadata.

    Entry IDs are E0001... in PEOPLE order. Every 4th photo is a PNG, the rest JPEGs (the 2nd one rotated by EXIF
    Orientation 6). Returns the open Workspace (close it, or use `with`).
    """
    people = PEOPLE if people is None else people
    source = tmp_path / "submissions"
    rows = []
    for i, person in enumerate(people):
        if png_every and i % png_every == png_every - 1:
            rel = f"photos/{person.name} {i}.png"
            identifying_png(source / rel, person, seed=i)
        else:
            rel = f"photos/{person.name} {i}.jpg"
            identifying_jpeg(source / rel, person, seed=i, orientation=6 if i == 1 else 1,
                             size=(1800, 2400) if i == 1 else (2400, 1600))
        rows.append({
            "entry_id": f"E{i + 1:04d}", "key": rel, "contestant_id": person.contestant_id, "name": person.name,
            "school": person.school, "grade": person.grade, "province": person.province,
            "country": person.country, "email": person.email, "file": rel,
            "title": f"Night sky {i + 1}", "description": f"Stars over the hills, photo {i + 1}.",
            "submitted_at": "2022-07-05T09:30:00+08:00", "origin": f"entries.csv row {i + 2}", "listed": 1,
            "extra": json.dumps({}), "sha256": None, "category": person.category,
            "status": (statuses or {}).get(person.contestant_id, "eligible"),
        })
    ws = init_workspace(tmp_path / "ws", source)
    if stage != "national":
        text = (ws.root / "contest.toml").read_text(encoding="utf-8")
        (ws.root / "contest.toml").write_text(text.replace('stage = "national"', f'stage = "{stage}"'),
                                              encoding="utf-8")
        ws.close()
        from milsetctl.workspace import open_workspace

        ws = open_workspace(tmp_path / "ws")
    ws.ledger.save_results(rows, {})
    return ws
