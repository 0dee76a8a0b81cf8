"""Company domains: the registrable domain of a website, host or e-mail address, and LinkedIn company pages.

Decisions (each covered by tests/matching/test_domains.py):

- Domains are returned lower-case, without ``www.`` or any other subdomain, in Unicode form
  ("xn--bcher-kva.de" and "Bücher.DE" both give "bücher.de"): one canonical spelling for equality, and the
  readable one for the messages a recruiter sees.
- The Public Suffix List comes from tldextract's bundled snapshot; nothing is fetched or cached on disk.
- PSL *private* suffixes count as suffixes, so "acme.github.io" and "acme.blogspot.com" are registrable
  domains of their own: two different GitHub Pages sites are never "the same website domain". The
  platforms' own domains ("github.io", "blogspot.com") are generic and never company domains.
- IP addresses, single-label hosts ("localhost"), hosts under no known suffix and anything unparsable
  give None rather than an error: these values come from scraped profiles and CATS records, where garbage
  is normal.
- Free-mail providers, social networks and job boards are not company domains: ``company_domain`` returns
  None for them, so "jane@gmail.com" never matches the CATS company whose website is gmail.com.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

import idna
import tldextract

# Created once: building the suffix trie costs ~40 ms. `suffix_list_urls=()` and `cache_dir=None` keep it
# offline and write-free (the default extractor tries the network first and logs a traceback without one).
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)

# Providers whose domain differs by country ("yahoo.co.uk", "gmx.de", "hotmail.fr"): matched on the label
# left of the public suffix, whatever the suffix.
_GENERIC_LABELS = frozenset(
    {
        "gmail", "googlemail", "yahoo", "ymail", "hotmail", "outlook", "live", "msn", "aol", "gmx",
        "proton", "protonmail", "yandex", "rediffmail", "zohomail", "tutanota", "mailinator",
    }
)  # fmt: skip
# Exact registrable domains of mail providers, ISPs' mailboxes, social networks, job boards and site
# builders: an address or page there says nothing about the employer.
_GENERIC_DOMAINS = frozenset(
    {
        # free mail and ISP mail
        "icloud.com", "me.com", "mac.com", "pm.me", "tuta.io", "tutamail.com", "fastmail.com", "fastmail.fm",
        "hey.com", "mail.com", "email.com", "usa.com", "inbox.com", "web.de", "t-online.de", "freenet.de",
        "arcor.de", "posteo.de", "mailbox.org", "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr",
        "libero.it", "virgilio.it", "tiscali.it", "seznam.cz", "centrum.cz", "wp.pl", "o2.pl", "interia.pl",
        "onet.pl", "mail.ru", "inbox.ru", "list.ru", "bk.ru", "rambler.ru", "ya.ru", "ukr.net", "qq.com",
        "163.com", "126.com", "yeah.net", "sina.com", "sina.cn", "sohu.com", "aliyun.com", "naver.com",
        "daum.net", "hanmail.net", "btinternet.com", "sky.com", "virginmedia.com", "comcast.net",
        "verizon.net", "att.net", "sbcglobal.net", "bellsouth.net", "cox.net", "charter.net", "earthlink.net",
        "shaw.ca", "rogers.com", "sympatico.ca", "bigpond.com", "optusnet.com.au", "xtra.co.nz",
        "uol.com.br", "bol.com.br", "terra.com.br", "telenet.be", "skynet.be", "bluewin.ch", "online.no",
        "telia.com", "kolumbus.fi", "abv.bg", "walla.co.il",
        # social networks, code hosts, link pages
        "linkedin.com", "lnkd.in", "facebook.com", "fb.com", "instagram.com", "twitter.com", "x.com",
        "youtube.com", "youtu.be", "tiktok.com", "pinterest.com", "reddit.com", "medium.com", "substack.com",
        "github.com", "github.io", "gitlab.com", "gitlab.io", "bitbucket.org", "linktr.ee", "about.me",
        "t.me", "wa.me", "threads.net", "xing.com", "vk.com", "ok.ru", "weibo.com",
        # job boards and company databases
        "indeed.com", "glassdoor.com", "monster.com", "stepstone.de", "ziprecruiter.com", "wellfound.com",
        "angel.co", "crunchbase.com", "welcometothejungle.com", "lever.co", "greenhouse.io",
        "workable.com", "bamboohr.com", "smartrecruiters.com",
        # site builders and blog hosts
        "wordpress.com", "blogspot.com", "wixsite.com", "wix.com", "squarespace.com", "weebly.com",
        "carrd.co", "notion.site",
    }
)  # fmt: skip

_EMAIL_LIKE = re.compile(r"^[^@\s/]+@([^@\s/]+)$")
_LINKEDIN_COMPANY_PATH = re.compile(r"^/(?:sales/)?company/([^/?#]+)")


def _host_of(value: str) -> str | None:
    """The host named by a URL, bare host or e-mail address, or None when there is none."""
    text = value.strip()
    if not text:
        return None
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
    if "@" in text and "://" not in text:
        # "Jane <jane@acme.com>" as well as "jane@acme.com"; a URL with credentials is handled below.
        address = parseaddr(text)[1] or text
        match = _EMAIL_LIKE.match(address)
        return match.group(1) if match else None
    if "://" not in text:
        text = "//" + text  # urlsplit finds the host only after "//"
    try:
        host = urlsplit(text).hostname
    except ValueError:  # e.g. an invalid port or an unbalanced "[" (IPv6 literal)
        return None
    return host


# A host that is already plain lower-case ASCII letters, digits and inner hyphens (no "--", so no
# punycode label and nothing IDNA's hyphen rules refuse): IDNA would return it unchanged. Checking this
# first skips `idna`, which costs ~40 µs a host in pure Python -- most of a cache row's derivation.
_PLAIN_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PLAIN_HOST = re.compile(rf"(?!.*--){_PLAIN_LABEL}(?:\.{_PLAIN_LABEL})*")
_MAX_HOST_LENGTH = 253


def _plain(host: str) -> bool:
    return len(host) <= _MAX_HOST_LENGTH and _PLAIN_HOST.fullmatch(host) is not None


def _to_ascii(host: str) -> str | None:
    """The IDNA (punycode) form of a host, lower-cased; None when it is not a valid host name."""
    host = host.rstrip(".")
    if host.isascii():
        lowered = host.lower()
        if _plain(lowered):
            return lowered
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def _registrable(value: str) -> tuple[str, str] | None:
    """(registrable domain, its label left of the suffix), or None: see `registrable_domain`."""
    host = _host_of(value)
    if not host:
        return None
    ascii_host = _to_ascii(host)
    if not ascii_host or "." not in ascii_host:
        return None
    parts = _EXTRACT(ascii_host)
    if not parts.suffix or not parts.domain:
        return None
    domain = f"{parts.domain}.{parts.suffix}"
    if _plain(domain):
        return domain, parts.domain  # no punycode label: the Unicode form is the same
    try:
        return idna.decode(domain), parts.domain
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def registrable_domain(value: str) -> str | None:
    """The domain a company would register, from a website URL, bare host or e-mail address.

    "https://WWW.Acme.co.uk:8443/jobs?x=1" -> "acme.co.uk"; "jane@mail.acme.com" -> "acme.com";
    "xn--bcher-kva.de" -> "bücher.de"; "localhost", "10.0.0.1", "not a url" -> None.
    """
    found = _registrable(value)
    return None if found is None else found[0]


def is_generic_domain(domain: str) -> bool:
    """Whether a registrable domain belongs to a mail provider, social network, job board or site host."""
    if domain in _GENERIC_DOMAINS:
        return True
    label = _EXTRACT(domain).domain
    return label in _GENERIC_LABELS


def company_domain(value: str) -> str | None:
    """The registrable domain of `value` when it can identify a company, else None (free mail, social...)."""
    found = _registrable(value)
    if found is None:
        return None
    domain, label = found
    # The label as extracted from the host: the same one `is_generic_domain` would extract again (its
    # punycode form for an internationalised domain, which no generic label is).
    if domain in _GENERIC_DOMAINS or label in _GENERIC_LABELS:
        return None
    return domain


def linkedin_company_slug(url: str) -> str | None:
    """The company identifier in a LinkedIn company-page URL, lower-case, or None for any other URL.

    "https://www.linkedin.com/company/acme-corp/about/?trk=x" -> "acme-corp"; "de.linkedin.com/company/6926"
    -> "6926" (the numeric form is another key for a company: we cannot map it to the slug offline).
    Sales Navigator URLs ("/sales/company/6926") count too; people, school and showcase pages do not.
    """
    text = url.strip()
    # Most URLs (every company website the sync reads) are not LinkedIn's: a host containing "linkedin"
    # is in the text, so without it there is nothing to parse.
    if not text or "linkedin" not in text.lower():
        return None
    if "://" not in text:
        text = "//" + text
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return None
    if host is None or "linkedin" not in host or registrable_domain(host) != "linkedin.com":
        return None
    match = _LINKEDIN_COMPANY_PATH.match(parts.path)
    if not match:
        return None
    slug = unquote(match.group(1)).strip().lower()
    return slug or None
