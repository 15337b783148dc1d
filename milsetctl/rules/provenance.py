"""Provenance: does the file's own metadata say a generator made it?

Everything here reads what the probe already holds (bytes, EXIF, XMP, text chunks); nothing reads the
file again and nothing goes to the network. Metadata is evidence when present and silent when stripped:
a generated image re-saved without its metadata passes this rule, which is why it only ever reports what
it found, naming where it found it.
"""

from __future__ import annotations

import functools
import html
import io
import json
import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from milsetctl.imageformat import JUNK, SOS, jpeg_segments, png_chunks
from milsetctl.rules import rule
from milsetctl.settings import Settings

if TYPE_CHECKING:  # the probe imports NumPy and Pillow: `milsetctl rules` lists these rules without them
    from milsetctl.probe import Probe

# IPTC digital source types (cv.iptc.org/newscodes/digitalsourcetype/...) that mean "made by an algorithm".
# Left out on purpose: algorithmicallyEnhanced (denoise, HDR merge: a camera photo), digitalCapture,
# composite (a plain composite), digitalCreation (drawn by a person; other rules look at what it shows).
ALGORITHMIC_SOURCE_TYPES = {
    "trainedalgorithmicmedia": "trainedAlgorithmicMedia",
    "compositewithtrainedalgorithmicmedia": "compositeWithTrainedAlgorithmicMedia",
    "algorithmicmedia": "algorithmicMedia",
    "compositesynthetic": "compositeSynthetic",
}


@dataclass(frozen=True)
class GeneratorGroup:
    """One kind of software that makes pictures itself (AI, 3D renderers, games), from data/generators.toml."""

    kind: str
    label: str  # "an image generator", "a 3D renderer"...
    pattern: re.Pattern[str]


def load_generators(text: str | None = None) -> list[GeneratorGroup]:
    """The generator table: the shipped data/generators.toml, or `text` in the same TOML shape.

    Raises ValueError naming the group when a pattern is not a valid regular expression.
    """
    if text is None:
        text = resources.files("milsetctl.rules").joinpath("data/generators.toml").read_text(encoding="utf-8")
    groups = []
    for kind, group in tomllib.loads(text).items():
        try:
            pattern = re.compile("|".join(f"(?:{p})" for p in group["patterns"]), re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"generators.toml [{kind}]: bad pattern: {exc}") from None
        groups.append(GeneratorGroup(kind, str(group.get("label", kind)), pattern))
    return groups


@functools.cache
def generators() -> list[GeneratorGroup]:
    """The shipped table, read on first use: `milsetctl rules` lists the rules without parsing its TOML and
    compiling its patterns (~9 ms of every start that loads the rule registry; issue 18)."""
    return load_generators()


def __getattr__(name: str) -> Any:
    if name == "GENERATORS":  # the shipped table, as this module's attribute (read on first use)
        return generators()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def named_generator(text: str) -> GeneratorGroup | None:
    """The first group of the table whose names appear in `text` (a Software, Make/Model or CreatorTool value)."""
    if text:
        for group in generators():
            if group.pattern.search(text):
                return group
    return None


# Stable Diffusion front ends (A1111, Forge, Civitai, SD.Next...) write "prompt\nNegative prompt: ...\nSteps: 20,
# Sampler: ..., CFG scale: 7, Seed: ..., Size: ..., Model hash: ...". Two of these labels make it certain.
_SD_LABELS = re.compile(r"(?:^|[\n,]\s*)(Negative prompt|Steps|Sampler|CFG scale|Seed|Model hash|Denoising strength):")

# PNG text keys that only image generators write
_GENERATOR_KEYS = {
    "invokeai_metadata": "InvokeAI generation metadata",
    "invokeai_graph": "InvokeAI generation graph",
    "sd-metadata": "Stable Diffusion (InvokeAI) generation metadata",
    "dream": "Stable Diffusion (InvokeAI 'dream') generation settings",
    "fooocus_scheme": "Fooocus generation metadata",
}

# c2pa-rs settings for reading offline: a manifest stored on a server (XMP dcterms:provenance) is never
# fetched, nor are OCSP responses. No trust list is bundled, so trust is not checked either.
C2PA_OFFLINE = {
    "verify": {
        "remote_manifest_fetch": False,
        "ocsp_fetch": False,
        "verify_trust": False,
        "verify_timestamp_trust": False,
    },
    "core": {"allowed_network_hosts": []},
}

_C2PA_MIME = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIC": "image/heic",
    "HEIF": "image/heif",
    "AVIF": "image/avif",
    "TIFF": "image/tiff",
    "GIF": "image/gif",
    "JXL": "image/jxl",
}

_context: tuple[int, Any] | None = None  # (pid, c2pa.Context): a context must not cross a fork


def _c2pa_context() -> Any:
    global _context
    pid = os.getpid()
    if _context is None or _context[0] != pid:
        import c2pa

        _context = (pid, c2pa.Context.from_dict(C2PA_OFFLINE))
    return _context[1]


def _source_type(value: Any) -> str | None:
    """The algorithmic IPTC source type named by a URI or bare code, or None."""
    if not isinstance(value, str):
        return None
    code = value.strip().rstrip("/").rsplit("/", 1)[-1].lower()
    return ALGORITHMIC_SOURCE_TYPES.get(code)


def _agent_name(agent: Any) -> str | None:
    if isinstance(agent, dict):
        agent = agent.get("name")
    return str(agent).strip() if agent else None


def _claim_generator(manifest: dict[str, Any]) -> str | None:
    info = manifest.get("claim_generator_info")
    if isinstance(info, list) and info and isinstance(info[0], dict) and info[0].get("name"):
        return str(info[0]["name"])
    generator = manifest.get("claim_generator")
    return str(generator).split()[0] if generator else None


def c2pa_evidence(store: dict[str, Any]) -> str | None:
    """Describe the strongest algorithmic-media action in a C2PA manifest store (Reader.json()), or None.

    Every manifest is looked at, the active one and its ingredients': a Firefly image opened in Photoshop
    says `c2pa.created ... trainedAlgorithmicMedia` in the ingredient's manifest. `c2pa.created` beats
    `c2pa.opened` beats other actions (generative fill is a `c2pa.edited` with such a source type); the
    active manifest beats an ingredient's.
    """
    manifests = store.get("manifests")
    if not isinstance(manifests, dict):
        return None
    active = store.get("active_manifest")
    best: tuple[tuple[int, int], str] | None = None
    for label, manifest in manifests.items():
        if not isinstance(manifest, dict):
            continue
        for assertion in manifest.get("assertions") or []:
            if not (isinstance(assertion, dict) and str(assertion.get("label", "")).startswith("c2pa.actions")):
                continue
            data = assertion.get("data")
            if not isinstance(data, dict):
                data = {}
            for action in data.get("actions") or []:
                if not isinstance(action, dict):
                    continue
                params = action.get("parameters")
                if not isinstance(params, dict):
                    params = {}
                kind = _source_type(action.get("digitalSourceType")) or _source_type(params.get("digitalSourceType"))
                if kind is None:
                    continue
                name = str(action.get("action") or "an action")
                rank = ({"c2pa.created": 0, "c2pa.opened": 1}.get(name, 2), 0 if label == active else 1)
                who = [f"claim generator {g!r}" for g in [_claim_generator(manifest)] if g]
                who += [f"software agent {a!r}" for a in [_agent_name(action.get("softwareAgent"))] if a]
                where = "C2PA manifest" if label == active else "C2PA manifest of an ingredient"
                text = f"{where}: {name} with digitalSourceType {kind}"
                if who:
                    text += f" ({', '.join(who)})"
                if best is None or rank < best[0]:
                    best = (rank, text)
    if best is None:
        return None
    text = best[1]
    if str(store.get("validation_state", "")).lower() == "invalid":
        codes = sorted(
            {
                str(s.get("code"))
                for s in store.get("validation_status") or []
                if isinstance(s, dict) and s.get("code") and "untrusted" not in str(s.get("code"))
            }
        )
        text += "; signature invalid" + (f" ({', '.join(codes)})" if codes else "")
    return text


def _jpeg_header_end(data: bytes) -> int:
    """Offset of the first start-of-scan marker: APP11 (C2PA) segments all come before it. The end of the data
    when the header cannot be followed to a scan (then the whole file is searched)."""
    for seg in jpeg_segments(data, strict=False):
        if seg.marker == SOS:
            return seg.start
        if seg.marker == JUNK:
            break
    return len(data)


def _may_hold_c2pa(data: bytes, fmt: str | None) -> bool:
    """Cheap pre-check: every manifest store is a JUMBF box labelled "c2pa" (PNG: a caBX chunk)."""
    if fmt == "JPEG":
        return data.find(b"c2pa", 0, _jpeg_header_end(data)) >= 0
    if fmt == "PNG":
        return any(chunk.type == b"caBX" for chunk in png_chunks(data, strict=False))
    return b"c2pa" in data


def _c2pa(probe: Probe) -> str | None:
    """Read an embedded C2PA manifest store from the probe's bytes, offline, once per probe.

    A reader failure is kept in `probe.memo["c2pa_error"]` for the `c2pa-unread` rule."""
    if "c2pa" not in probe.memo:
        probe.memo["c2pa"] = _read_c2pa(probe)
    return probe.memo["c2pa"]


def _read_c2pa(probe: Probe) -> str | None:
    data = probe.data
    mime = _C2PA_MIME.get(probe.info.format or "")
    if not data or mime is None or not _may_hold_c2pa(data, probe.info.format):
        return None
    try:
        import c2pa
    except ImportError:  # optional: without it the XMP, EXIF and text-chunk checks still run
        return None
    try:
        reader = c2pa.Reader.try_create(mime, io.BytesIO(data), None, _c2pa_context())
        if reader is None:
            return None
        with reader:
            store = json.loads(reader.json())
    except Exception as exc:  # remote-only manifest (not fetched), corrupt JUMBF, unsupported variant
        probe.memo["c2pa_error"] = _c2pa_failure(exc)
        return None
    return c2pa_evidence(store)


def _c2pa_failure(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "remote" in text.lower():
        return f"the C2PA manifest is stored remotely and is not fetched (offline): {text}"
    return f"a C2PA manifest is present but could not be read ({type(exc).__name__}: {text[:200]})"


_XMP_SOURCE_TYPE = re.compile(
    r"DigitalSourceType\s*(?:=\s*[\"']([^\"']*)[\"']|>\s*([^<\s]+)|[^>]*?rdf:resource\s*=\s*[\"']([^\"']*)[\"'])"
)
_XMP_AIGC = re.compile(r"AIGC\s*(?:=\s*\"([^\"]*)\"|=\s*'([^']*)'|>([^<]*)<)")


def _xmp(xmp: str) -> list[str]:
    from milsetctl.probe import xmp_tools  # loaded already wherever a probe exists

    found: list[str] = []
    for match in _XMP_SOURCE_TYPE.finditer(xmp):
        kind = _source_type(next((g for g in match.groups() if g), ""))
        if kind:
            found.append(f"XMP Iptc4xmpExt:DigitalSourceType is {kind}")
            break
    for match in _XMP_AIGC.finditer(xmp):
        label = _aigc_label(html.unescape(next((g for g in match.groups() if g), "")))
        if label:
            found.append(label)
            break
    for tool in xmp_tools(xmp):
        group = named_generator(tool)
        if group:
            found.append(f"XMP CreatorTool/softwareAgent {tool!r} names {group.label}")
            break
    if _sd_settings(xmp):
        found.append("XMP holds Stable Diffusion generation settings")
    return found


def _aigc_label(text: str) -> str | None:
    """China's GB 45438-2025 implicit label (XMP TC260:AIGC JSON): Label "1" means AI-generated."""
    match = re.search(r"\"Label\"\s*:\s*\"?(\d)", text)
    if not match or match.group(1) != "1":
        return None
    producer = re.search(r"\"ContentProducer\"\s*:\s*\"([^\"]*)\"", text)
    by = f", producer {producer.group(1)!r}" if producer and producer.group(1) else ""
    return f"AIGC label (GB 45438-2025) says AI-generated (Label 1{by})"


def _sd_settings(text: str) -> bool:
    return len({m.group(1) for m in _SD_LABELS.finditer(text)}) >= 2


def _looks_like_json(text: str, *keys: str) -> bool:
    stripped = text.lstrip()
    return stripped[:1] in "{[" and any(f'"{key}"' in text for key in keys)


def _text_chunks(probe: Probe) -> list[str]:
    found: list[str] = []
    fmt = probe.info.format or "image"
    for key, value in probe.text_chunks.items():
        lowered = key.lower()
        where = "JPEG comment" if (lowered == "comment" and fmt == "JPEG") else f"{fmt} text chunk {key!r}"
        if lowered in _GENERATOR_KEYS:
            found.append(f"{where} holds {_GENERATOR_KEYS[lowered]}")
        elif _sd_settings(value):
            found.append(f"{where} holds Stable Diffusion generation settings")
        elif lowered in ("prompt", "workflow") and _looks_like_json(value, "class_type", "nodes", "inputs"):
            found.append(f"{where} holds a ComfyUI workflow")
        elif lowered == "comment" and _looks_like_json(value, "uncond_scale", "noise_schedule", "sampler", "steps"):
            found.append(f"{where} holds generation settings (NovelAI)")
        elif lowered == "aigc" and (label := _aigc_label(value)):
            found.append(f"{where}: {label}")
        elif lowered == "rendertime" or (lowered == "file" and value.strip().lower().endswith(".blend")):
            found.append(f"{where} holds Blender render metadata")
        elif lowered in ("software", "source") and (group := named_generator(value)):
            found.append(f"{where} {value.strip()[:80]!r} names {group.label}")
    return found


def _decode_user_comment(raw: Any) -> str:
    """EXIF UserComment: an 8-byte character-code header, then the text (A1111 writes UTF-16)."""
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, bytes):
        return ""
    head, body = raw[:8], raw[8:]
    if head.startswith(b"UNICODE"):
        if len(body) >= 2 and body[0] == 0 and body[1] != 0:
            return body.decode("utf-16-be", "replace")
        if len(body) >= 2 and body[1] == 0 and body[0] != 0:
            return body.decode("utf-16-le", "replace")
        return body.decode("utf-16-be", "replace")
    if head.startswith((b"ASCII", b"\x00\x00\x00\x00\x00\x00\x00\x00", b"JIS")):
        return body.decode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def _exif_texts(probe: Probe) -> dict[str, str]:
    """UserComment and ImageDescription from the EXIF the probe parsed (UserComment is kept as bytes there)."""
    texts: dict[str, str] = {}
    exif = probe.exif_data
    if exif is None:
        return texts
    try:
        comment = exif.get_ifd(0x8769).get(0x9286)
        description = exif.get(0x010E)
    except Exception:  # broken EXIF: the other checks still run
        return texts
    if comment:
        texts["EXIF UserComment"] = _decode_user_comment(comment).replace("\x00", "").strip()
    if isinstance(description, str) and description.strip():
        texts["EXIF ImageDescription"] = description.strip()
    return texts


def _exif(probe: Probe) -> list[str]:
    found: list[str] = []
    software = (probe.info.software or probe.exif.get("Image Software") or "").strip()
    if group := named_generator(software):
        found.append(f"EXIF Software {software!r} names {group.label}")
    make, model = (probe.info.make or "").strip(), (probe.info.model or "").strip()
    if group := named_generator(f"{make} / {model}"):
        found.append(f"EXIF Make/Model {make!r}/{model!r} name {group.label}: a rendered picture, not a camera")
    for name, text in _exif_texts(probe).items():
        if _sd_settings(text):
            extra = " (Civitai)" if "civitai" in text.lower() else ""
            found.append(f"{name} holds Stable Diffusion generation settings{extra}")
        elif "aigc" in text.lower() and (label := _aigc_label(text)):
            found.append(f"{name}: {label}")
        # free text ("fireflies at dusk") is not searched for generator names: too many false alarms
    return found


def generator_evidence(probe: Probe) -> list[str]:
    """Every piece of metadata that says a generator made this image, strongest first."""
    found: list[str] = []
    c2pa_text = _c2pa(probe)
    if c2pa_text:
        found.append(c2pa_text)
    if probe.xmp:
        found += _xmp(probe.xmp)
    found += _exif(probe)
    found += _text_chunks(probe)
    return list(dict.fromkeys(found))


@rule("software-created", "reject", "photo", version=2)
def software_created(probe: Probe, settings: Settings) -> Iterator[tuple[str, dict[str, Any]]]:
    """The metadata says a generator made the image (AI, or a game's photo mode).

    The call for entries asks for photos captured with a camera. Generators often say so themselves: a
    C2PA manifest whose created/opened action has an algorithmic IPTC digital source type
    (trainedAlgorithmicMedia, compositeWithTrainedAlgorithmicMedia...), the same source type in XMP, a
    China GB 45438 AIGC label, a generator's name in EXIF Software or XMP CreatorTool, Stable Diffusion /
    ComfyUI / NovelAI / InvokeAI settings in PNG text chunks or EXIF UserComment, Blender's render
    metadata, or the name of a 3D renderer, game engine, planetarium program or game photo mode (Blender,
    Cinema 4D, POV-Ray, Unreal, Unity, Stellarium, Gran Turismo...: the table in data/generators.toml) in
    the Software, camera make/model or CreatorTool. The message names the evidence. C2PA is read offline
    (a remotely stored manifest is not fetched); an invalid C2PA signature is reported, not trusted away. Editors
    (Photoshop, Lightroom, GIMP) are the `edited` rule's business. Stripped metadata passes: absence of
    evidence proves nothing.

    Version 1: C2PA (all manifests), XMP source type / AIGC label / CreatorTool, EXIF Software, Make/Model
    (game photo modes), UserComment, ImageDescription, PNG/WebP text chunks and the JPEG comment.
    Version 2: renderers, engines and games from a data table; EXIF from ImageMagick PNG profiles. A C2PA
    manifest that cannot be read is reported by `c2pa-unread`. Bump the version when the detection
    changes, so cached results are recomputed.
    """
    evidence = generator_evidence(probe)
    if evidence:
        message = evidence[0]
        if len(evidence) > 1:
            message += "; also " + "; ".join(evidence[1:3])
        yield message, {"evidence": evidence}


@rule("c2pa-unread", "info", "photo")
def c2pa_unread(probe: Probe, settings: Settings) -> Iterator[str]:
    """The file carries a C2PA manifest (Content Credentials) that could not be read.

    `software-created` trusts a C2PA manifest when it says the picture was generated; when the manifest
    is stored on a server (never fetched: validate works offline), is corrupt or of a kind the reader does
    not know, that evidence is missing, and the coordinator should know the credential was not read
    rather than read and found clean.
    """
    _c2pa(probe)
    if probe.memo.get("c2pa_error"):
        yield probe.memo["c2pa_error"]
