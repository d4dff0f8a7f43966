from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import CharField, F, Func, Value
from django.db.models.functions import Lower, Upper
from django.utils import timezone


def email_normalize(email: str) -> str:
    """Fold case and surrounding spaces; plus-addressing stays distinct on purpose."""
    return email.strip().lower()


class ContactQuerySet(models.QuerySet):
    def by_email(self, email: str) -> ContactQuerySet:
        """Contacts with this email, whatever its case, through the unique index on lower(email)."""
        return (
            self.alias(email_ci=Lower("email"))
            .filter(email_ci=email_normalize(email))
            .exclude(email="")
        )


class Seniority(models.TextChoices):
    C_LEVEL = "c_level", "C-level"
    VP = "vp", "VP"
    DIRECTOR = "director", "Director"
    MANAGER = "manager", "Manager"
    INDIVIDUAL = "individual", "Individual contributor"


def search_expressions(prefix: str = "") -> dict[str, Upper]:
    """What search matches the start of, by index name: upper-cased email, email domain, names
    and company (`prefix` reaches the contact from another model, e.g. "contact__")."""
    email = F(f"{prefix}email")
    return {
        "contact_email_prefix": Upper(email),
        "contact_domain_prefix": Upper(
            Func(email, Value("@"), Value(2), function="split_part", output_field=CharField())
        ),
        "contact_first_name_prefix": Upper(f"{prefix}first_name"),
        "contact_last_name_prefix": Upper(f"{prefix}last_name"),
        "contact_company_prefix": Upper(f"{prefix}company"),
    }


class Contact(models.Model):
    """A person. Their way through the funnel is their `Lead`."""

    email = models.EmailField(max_length=254, blank=True, default="")
    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    company = models.CharField(max_length=200, blank=True, default="")
    job_title = models.CharField(max_length=200, blank=True, default="")
    phone = models.CharField(max_length=50, blank=True, default="")
    country = models.CharField(max_length=100, blank=True, default="")
    # Firmographics for fit scoring. The database defaults let bulk loaders (COPY) leave them out.
    seniority = models.CharField(
        max_length=20, choices=Seniority, blank=True, default="", db_default=""
    )
    industry = models.CharField(max_length=100, blank=True, default="", db_default="")
    company_size = models.PositiveIntegerField(
        "company size", null=True, blank=True, help_text="Employees."
    )
    # The website's own id for the person (Segment's userId), when it sends one.
    user_id = models.CharField(max_length=200, blank=True, default="")
    traits = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        permissions = [("merge_contact", "Can merge duplicate contacts")]
        # Search matches the start of a name, an email, its domain or a company, in any case:
        # a prefix LIKE on upper() reads these (text_pattern_ops works in every collation).
        indexes = [
            models.Index(OpClass(expression, name="text_pattern_ops"), name=name)
            for name, expression in search_expressions().items()
        ]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="contact_email_ci_unique",
                violation_error_message="A contact with this email already exists.",
            ),
            models.UniqueConstraint(
                fields=["user_id"], condition=~models.Q(user_id=""), name="contact_user_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.email or f"Contact {self.pk}"

    def save(self, *args, **kwargs) -> None:
        self.email = email_normalize(self.email)
        super().save(*args, **kwargs)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Visitor(models.Model):
    """An anonymous browser, known by the anonymous id of its cookie."""

    # Unique by a constraint, not `unique=True`: that would add a second index for LIKE
    # (varchar_pattern_ops) that no query uses, written on every new browser.
    anonymous_id = models.CharField(max_length=200)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="visitors"
    )
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["anonymous_id"], name="visitor_anonymous_id_unique")
        ]

    def __str__(self) -> str:
        return self.anonymous_id


class ContactMerge(models.Model):
    """The record of a merge: which contact was folded into which, by whom, keeping what."""

    survivor = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="merges")
    merged_contact_id = models.BigIntegerField()
    # Kept so that the merged person's email still finds the survivor when it comes back.
    merged_email = models.EmailField(max_length=254, blank=True, default="", db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.merged_email or self.merged_contact_id} → {self.survivor}"
