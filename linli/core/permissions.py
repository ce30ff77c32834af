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
    "cases.view": _("View work orders in the area"),
    "cases.report": _("Report a problem (open a work order)"),
    "cases.intake": _("Take hotline calls and accept cases (受理)"),
    "cases.dispatch": _("Dispatch, reassign and merge cases (派单)"),
    "cases.handle": _("Handle cases dispatched to one's unit (办理)"),
    "cases.callback": _("Call back reporters and close cases (回访)"),
    "cases.supervise": _("Supervise deadlines, approve suspensions, read KPIs and analysis"),
    "cases.configure": _("Configure categories, routing, deadlines, calendar and Open311 clients"),
    "iot.view": _("View devices, their readings and alarms"),
    "iot.manage": _("Register and provision devices, issue credentials, edit alarm rules"),
    "dispatch.console": _("Take alarms on the dispatch console: claim, call back, dispatch rescuers"),
    "dispatch.lead": _("Lead a shift: escalations, roster, handovers and the center's KPIs"),
    "dispatch.rescue": _("Go on rescues: accept incidents and report from the scene"),
}

# 三员分立: the system admin, the security admin and the auditor are separate people.
SEPARATED_ROLES = ("admin", "secadmin", "auditor")

# scope kinds
AREA, ESTATE, HOUSEHOLD, PLATFORM = "area", "estate", "household", "platform"

# work orders: what staff who run a community or street do, and what people in the field do
CASE_STAFF = [
    "cases.view",
    "cases.report",
    "cases.intake",
    "cases.dispatch",
    "cases.handle",
    "cases.callback",
    "cases.supervise",
]
CASE_FIELD = ["cases.view", "cases.report", "cases.handle"]

DEFAULT_ROLES = {
    # code: (zh name, en name, scope kind, permissions)
    "admin": (
        "系统管理员",
        "System administrator",
        PLATFORM,
        [
            "places.view",
            "places.change",
            "orgs.view",
            "orgs.change",
            "config.manage",
            "cases.configure",
            "iot.view",
            "iot.manage",
        ],
    ),
    "secadmin": ("安全管理员", "Security administrator", PLATFORM, ["accounts.manage", "roles.manage"]),
    "auditor": ("安全审计员", "Auditor", PLATFORM, ["audit.view"]),
    "street": (
        "街道工作人员",
        "Street office staff",
        AREA,
        ["places.view", "people.view", "people.reveal", "people.export", "orgs.view", "iot.view", *CASE_STAFF],
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
            "iot.view",
            *CASE_STAFF,
        ],
    ),
    "grid": (
        "网格员",
        "Grid worker",
        AREA,
        ["places.view", "people.view", "people.change", "people.reveal", "orgs.view", *CASE_FIELD],
    ),
    "property": (
        "物业人员",
        "Property company staff",
        ESTATE,
        ["places.view", "people.view", "orgs.view", "iot.view", "iot.manage", *CASE_FIELD],
    ),
    "handler": ("部门处置人员", "Department handler", AREA, ["places.view", "cases.report", "cases.handle"]),
    "dispatcher": (
        "调度员",
        "Dispatcher",
        AREA,
        ["places.view", "people.view", "people.reveal", "iot.view", "dispatch.console"],
    ),
    "shift_lead": (
        "值班长",
        "Shift lead",
        AREA,
        ["places.view", "people.view", "people.reveal", "iot.view", "dispatch.console", "dispatch.lead"],
    ),
    "rescuer": ("救援员", "Rescuer", AREA, ["places.view", "people.view", "dispatch.rescue"]),
    "provider": ("服务商", "Service provider", PLATFORM, []),
    "resident": ("居民", "Resident", HOUSEHOLD, ["places.view", "people.view", "cases.report"]),
}
