"""The permission vocabulary. Roles hold lists of these codes; scope comes from assignments."""

from django.utils.translation import gettext_lazy as _

PERMISSIONS = {
    "places.view": _("View places, estates, buildings and houses"),
    "places.change": _("Create and edit places, estates, buildings and houses"),
    "people.view": _("View residents and households"),
    "people.change": _("Create and edit residents and households"),
    "people.reveal": _("Reveal a full ID or phone number (with a stated purpose)"),
    "people.export": _("Export unmasked personal data"),
    "people.import": _("Import residents and houses from spreadsheets"),
    "orgs.view": _("View organizations"),
    "orgs.change": _("Create and edit organizations"),
    "bindings.verify": _("Verify residents' requests to be bound to a house"),
    "accounts.manage": _("Manage user accounts and role assignments"),
    "roles.manage": _("Edit roles and their permissions"),
    "audit.view": _("Read the audit log"),
    "config.manage": _("Configure the platform"),
}

# 三员分立: the system admin, the security admin and the auditor are separate people.
SEPARATED_ROLES = ("admin", "secadmin", "auditor")

# scope kinds
AREA, ESTATE, HOUSEHOLD, PLATFORM = "area", "estate", "household", "platform"

DEFAULT_ROLES = {
    # code: (zh name, en name, scope kind, permissions)
    "admin": (
        "系统管理员",
        "System administrator",
        PLATFORM,
        ["places.view", "places.change", "orgs.view", "orgs.change", "config.manage"],
    ),
    "secadmin": ("安全管理员", "Security administrator", PLATFORM, ["accounts.manage", "roles.manage"]),
    "auditor": ("安全审计员", "Auditor", PLATFORM, ["audit.view"]),
    "street": (
        "街道工作人员",
        "Street office staff",
        AREA,
        ["places.view", "people.view", "people.reveal", "people.export", "orgs.view"],
    ),
    "community": (
        "社区工作者",
        "Community worker",
        AREA,
        [
            "places.view",
            "places.change",
            "people.view",
            "people.change",
            "people.reveal",
            "people.export",
            "people.import",
            "orgs.view",
            "orgs.change",
            "bindings.verify",
        ],
    ),
    "grid": (
        "网格员",
        "Grid worker",
        AREA,
        ["places.view", "people.view", "people.change", "people.reveal", "orgs.view"],
    ),
    "property": ("物业人员", "Property company staff", ESTATE, ["places.view", "people.view", "orgs.view"]),
    "dispatcher": ("调度员", "Dispatcher", AREA, ["places.view", "people.view", "people.reveal"]),
    "rescuer": ("救援员", "Rescuer", AREA, ["places.view", "people.view"]),
    "provider": ("服务商", "Service provider", PLATFORM, []),
    "resident": ("居民", "Resident", HOUSEHOLD, ["places.view", "people.view"]),
}
