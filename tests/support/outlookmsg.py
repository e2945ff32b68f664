"""Outlook .msg files for tests, written with Perl's OLE::Storage_Lite (what msgconvert reads with)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

# A .msg is an OLE2 compound file; each MAPI property is a stream named __substg1.0_<tag><type>
# (type 001F: UTF-16LE text). Python has no writer for these files; OLE::Storage_Lite comes
# with msgconvert (Debian: libemail-outlook-message-perl), so Perl writes them.
WRITER = r"""
use strict;
use warnings;
use Encode qw(decode encode);
use OLE::Storage_Lite;

my ($out, @pairs) = @ARGV;
my @streams;
while (my ($tag, $text) = splice(@pairs, 0, 2)) {
    my $name = OLE::Storage_Lite::Asc2Ucs("__substg1.0_${tag}001F");
    push @streams, OLE::Storage_Lite::PPS::File->new(
        $name, encode("UTF-16LE", decode("UTF-8", $text)));
}
push @streams, OLE::Storage_Lite::PPS::File->new(
    OLE::Storage_Lite::Asc2Ucs("__properties_version1.0"), "\0" x 32);
OLE::Storage_Lite::PPS::Root->new(undef, undef, \@streams)->save($out) or die "cannot write $out\n";
"""

MESSAGE_CLASS, SUBJECT, BODY = "001A", "0037", "1000"
SENDER_NAME, SENDER_TYPE, SENDER_ADDR = "0C1A", "0C1E", "0C1F"
MESSAGE_ID, TRANSPORT_HEADERS = "1035", "007D"


def msgconvert_missing() -> str | None:
    """Why .msg tests cannot run here, or None."""
    if shutil.which("msgconvert") is None:
        return "msgconvert not installed (apt-get install libemail-outlook-message-perl)"
    return None


def write_msg(path: Path, *, subject: str, body: str,
              sender: tuple[str, str] = ("王工", "wang@customer.example"),
              message_id: str | None = None, transport_headers: str | None = None) -> Path:
    """An Outlook message as Outlook saves it: the fields as MAPI properties and, for a mail
    it received, the original headers (transport_headers)."""
    properties = {MESSAGE_CLASS: "IPM.Note", SUBJECT: subject, BODY: body,
                  SENDER_NAME: sender[0], SENDER_TYPE: "SMTP", SENDER_ADDR: sender[1]}
    if message_id:
        properties[MESSAGE_ID] = f"<{message_id}>"
    if transport_headers:
        properties[TRANSPORT_HEADERS] = transport_headers
    pairs = [item for pair in properties.items() for item in pair]
    subprocess.run(["perl", "-e", WRITER, str(path), *pairs], check=True, capture_output=True)
    return path
