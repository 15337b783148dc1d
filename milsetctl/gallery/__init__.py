"""The virtual gallery: a static, offline site of the awarded photos (issue 8, `milsetctl gallery`)."""

from milsetctl.gallery.build import Gallery, GalleryError, GalleryPhoto, build_gallery

__all__ = ["Gallery", "GalleryError", "GalleryPhoto", "build_gallery"]
