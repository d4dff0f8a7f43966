"""The vocabulary of the demo: the website, its campaigns, and the people who visit it."""

from __future__ import annotations

SITE = "https://www.example.com"

# The demo team. Usernames are the role names so the login page can say "sdr / leadflow".
USERS = [
    # username, role, first name, last name
    ("admin", "admin", "Robin", "Hale"),
    ("marketer", "marketer", "Maya", "Lindqvist"),
    ("sdr", "sdr", "Sam", "Okafor"),
    ("sdr2", "sdr", "Priya", "Raman"),
    ("ae", "ae", "Alex", "Moreau"),
    ("ae2", "ae", "Jordan", "Blake"),
]
PASSWORD = "leadflow"  # noqa: S105  (the documented demo password)
WRITE_KEY_NAME = "Demo website"

PAGES = {
    "/": "Home",
    "/features": "Features",
    "/features/lead-scoring": "Lead scoring",
    "/features/integrations": "Integrations",
    "/pricing": "Pricing",
    "/customers": "Customers",
    "/about": "About us",
    "/contact": "Contact sales",
}
BLOG_POSTS = {
    "/blog/mql-vs-sql": "MQL vs SQL: where marketing stops and sales starts",
    "/blog/lead-scoring-that-sales-trusts": "Lead scoring that sales actually trusts",
    "/blog/speed-to-lead": "Speed to lead: why the first hour matters",
    "/blog/b2b-funnel-benchmarks": "B2B funnel benchmarks for 2025",
    "/blog/segment-tracking-plan": "A tracking plan in ten events",
    "/blog/recycling-leads": "Recycling leads without annoying them",
    "/blog/sdr-handoff": "The SDR to AE handoff, step by step",
}
CUSTOMER_STORIES = {
    "/customers/harbor-logistics": "How Harbor Logistics doubled its pipeline",
    "/customers/quill-health": "Quill Health: from spreadsheets to a funnel",
}
WHITEPAPERS = ["The 2025 B2B Funnel Benchmark Report", "The Lead Scoring Playbook"]
WEBINARS = ["Lead scoring that sales trusts", "Building a funnel report in an afternoon"]

# Where sessions come from: (weight, campaign or None, referrer). Segment puts the UTM
# parameters of the landing URL in context.campaign.
ACQUISITION = [
    (24, None, ""),
    (22, None, "https://www.google.com/"),
    (8, {"source": "google", "medium": "cpc", "name": "brand-search"}, ""),
    (8, {"source": "google", "medium": "cpc", "name": "lead-scoring-software"}, ""),
    (8, {"source": "linkedin", "medium": "paid-social", "name": "abm-revops-leaders"}, ""),
    (4, {"source": "linkedin", "medium": "social", "name": "organic-posts"}, ""),
    (5, {"source": "g2", "medium": "referral", "name": "g2-category-page"}, ""),
    (4, {"source": "capterra", "medium": "cpc", "name": "lead-management"}, ""),
    (3, {"source": "hubspot", "medium": "referral", "name": "partner-marketplace"}, ""),
    (3, {"source": "twitter", "medium": "social", "name": "launch-week"}, ""),
    (2, {"source": "youtube", "medium": "video", "name": "funnel-benchmarks-webinar"}, ""),
    (2, {"source": "bing", "medium": "cpc", "name": "brand-search"}, ""),
]
NEWSLETTER = {"source": "newsletter", "medium": "email", "name": "monthly-digest"}
NURTURE_EMAIL = {"source": "hubspot", "medium": "email", "name": "mql-nurture-sequence"}
OUTREACH_EMAIL = {"source": "outreach", "medium": "email", "name": "sdr-sequence"}

USER_AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/125.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
]

# country, weight, locale, company domain suffix, phone prefix
COUNTRIES = [
    ("United States", 30, "en-US", ".com", "+1"),
    ("United Kingdom", 12, "en-GB", ".co.uk", "+44"),
    ("Germany", 10, "de-DE", ".de", "+49"),
    ("France", 7, "fr-FR", ".fr", "+33"),
    ("Netherlands", 6, "nl-NL", ".nl", "+31"),
    ("Canada", 6, "en-CA", ".ca", "+1"),
    ("Sweden", 4, "sv-SE", ".se", "+46"),
    ("Spain", 4, "es-ES", ".es", "+34"),
    ("Australia", 5, "en-AU", ".com.au", "+61"),
    ("India", 5, "en-IN", ".in", "+91"),
    ("Brazil", 3, "pt-BR", ".com.br", "+55"),
    ("Ireland", 3, "en-IE", ".ie", "+353"),
    ("Denmark", 2, "da-DK", ".dk", "+45"),
    ("Singapore", 3, "en-SG", ".sg", "+65"),
]

COMPANY_WORDS = [
    "Northwind", "Bluepeak", "Ironbark", "Cobalt", "Lumen", "Harbor", "Quill", "Tandem",
    "Vireo", "Kestrel", "Sable", "Meridian", "Orchard", "Pinecrest", "Brightline", "Fathom",
    "Granite", "Halcyon", "Juniper", "Larkspur", "Mosaic", "Nimbus", "Oakridge", "Parallax",
    "Quartz", "Redwood", "Silverline", "Tidewater", "Upland", "Verdant", "Westbrook",
    "Yellowfin", "Zephyr", "Alder", "Beacon", "Cedar", "Driftwood", "Ember", "Foxglove",
    "Glacier", "Hollow Pine", "Indigo", "Keystone", "Lighthouse", "Marlow", "Northgate",
    "Opaline", "Peregrine", "Riverbend", "Saltmarsh", "Thistle", "Umber", "Wren", "Aster",
]  # fmt: skip
COMPANY_KINDS = [
    "Analytics", "Logistics", "Health", "Software", "Robotics", "Labs", "Systems", "Capital",
    "Foods", "Energy", "Retail", "Media", "Security", "Cloud", "Bio", "Learning", "Travel",
    "Insurance", "Payments", "Manufacturing", "Consulting", "Studios", "Networks", "Data",
]  # fmt: skip
# company size band, weight, deal value range (EUR/USD, yearly)
COMPANY_SIZES = [
    ("1-10", 15, (1_800, 6_000)),
    ("11-50", 30, (4_800, 18_000)),
    ("51-200", 30, (12_000, 48_000)),
    ("201-1000", 18, (30_000, 90_000)),
    ("1000+", 7, (60_000, 240_000)),
]

FIRST_NAMES = [
    "Ada", "Aisha", "Akira", "Alejandro", "Amara", "Amelia", "Ana", "Anders", "Arjun", "Astrid",
    "Ben", "Bianca", "Carlos", "Chen", "Chloe", "Chidi", "Claire", "Daniel", "David", "Elena",
    "Elif", "Emeka", "Emma", "Fatima", "Felix", "Freya", "Gabriel", "Grace", "Hannah", "Hiro",
    "Ines", "Isaac", "Isabel", "Jakob", "James", "Javier", "Jin", "Julia", "Kai", "Karin",
    "Kofi", "Lars", "Laura", "Leila", "Lena", "Liam", "Lucas", "Lucia", "Malik", "Marco",
    "Maria", "Mateo", "Mei", "Mia", "Mohammed", "Nadia", "Nikhil", "Noah", "Nora", "Olivia",
    "Omar", "Oscar", "Paula", "Pedro", "Rahul", "Rania", "Rosa", "Ruth", "Sakura", "Samuel",
    "Sara", "Sofia", "Sven", "Tariq", "Thomas", "Tomás", "Valentina", "Victor", "Yara", "Zoe",
]  # fmt: skip
LAST_NAMES = [
    "Adeyemi", "Andersson", "Bakker", "Banerjee", "Becker", "Bennett", "Bianchi", "Brown",
    "Campbell", "Castillo", "Chen", "Costa", "Dubois", "Eriksson", "Fernandes", "Fischer",
    "Garcia", "Gupta", "Hansen", "Hoffmann", "Hughes", "Ibrahim", "Jansen", "Johansson",
    "Kapoor", "Kelly", "Kim", "Kowalski", "Laurent", "Lee", "Lopez", "Martin", "Meyer",
    "Mensah", "Moreno", "Murphy", "Nakamura", "Nguyen", "Nielsen", "Novak", "O'Brien",
    "Okafor", "Olsen", "Patel", "Pereira", "Petrov", "Richter", "Rossi", "Santos", "Schmidt",
    "Singh", "Smith", "Sato", "Taylor", "Tanaka", "Van Dijk", "Wagner", "Walsh", "Weber",
    "Williams", "Wilson", "Wright", "Yilmaz", "Zhang",
]  # fmt: skip

# (title, weight). Titles with "Head" earn the demo's "Decision maker" fit points.
JOB_TITLES = [
    ("Head of Marketing", 8),
    ("Head of Growth", 5),
    ("Head of Demand Generation", 4),
    ("Head of Sales", 4),
    ("Head of Revenue Operations", 3),
    ("VP Marketing", 4),
    ("CMO", 3),
    ("Marketing Manager", 10),
    ("Demand Generation Manager", 6),
    ("Marketing Operations Manager", 6),
    ("Growth Marketer", 5),
    ("Content Marketing Manager", 5),
    ("Product Marketing Manager", 4),
    ("Sales Director", 4),
    ("Sales Operations Analyst", 3),
    ("Founder & CEO", 4),
    ("CTO", 2),
    ("Data Analyst", 3),
    ("Software Engineer", 3),
    ("Marketing Coordinator", 4),
    ("Consultant", 2),
]
FREEMAIL = ["gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com"]

NURTURE_REASONS = [
    "Budget opens next quarter",
    "Evaluating after their CRM migration",
    "Asked to talk again after the summer",
    "New head of marketing starts next month",
]
RECYCLE_REASONS = [
    "Back to nurture: new product launch campaign",
    "Re-engage next quarter with the benchmark report",
    "Quiet for weeks; let marketing warm them up again",
]
HAND_BACK_REASONS = ["No-show at the demo: please rebook", "Wrong person; find the decision maker"]
ATTEMPT_NOTES = {
    "no_answer": ["Called, no answer", "No pickup on mobile", ""],
    "left_message": ["Left a voicemail", "Sent a follow-up email", "Left a message with reception"],
    "connected": ["Good call, interested in a demo", "Talked about their funnel reporting"],
    "bad_timing": ["Interested, but not this quarter", "Mid-reorganisation, call back later"],
    "wrong_contact": ["Not the right person, referred to a colleague"],
}
