"""Voice announcements: Vietnamese number words, announcement sentences and chime + speech audio.

Pure Python (no Flask/Socket.IO): ``announcement_text`` builds the sentence in words,
``AnnouncementAudio.render`` turns it into a cached WAV file (voice pack or espeak-ng).
"""

from .announce import DEFAULT_RECALL_TEMPLATE, DEFAULT_TEMPLATE, VoiceSettings, announcement_text, ordinal_words
from .audio import AnnouncementAudio, VoicePackError, chime_frames, wav_duration_seconds
from .numbers import (
    LETTER_NAMES,
    digits_to_words,
    display_number_to_words,
    letter_name,
    number_to_words,
)

__all__ = [
    "DEFAULT_RECALL_TEMPLATE",
    "DEFAULT_TEMPLATE",
    "LETTER_NAMES",
    "AnnouncementAudio",
    "VoicePackError",
    "VoiceSettings",
    "announcement_text",
    "chime_frames",
    "digits_to_words",
    "display_number_to_words",
    "letter_name",
    "number_to_words",
    "ordinal_words",
    "wav_duration_seconds",
]
