"""The inbox: a user's own notifications, newest first. Another user's notification is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from linli.accounts.http import AuthedHttpRequest
from linli.notifications import services
from linli.notifications.models import Notification

PAGE_SIZE = 30


def _safe_url(request: HttpRequest, url: str) -> str:
    ok = url.startswith("/") and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if ok else ""


def _back(request: HttpRequest) -> HttpResponse:
    """Back to the inbox page the form was posted from (its `show` and `page`)."""
    query = {k: request.POST[k] for k in ("show", "page") if request.POST.get(k)}
    url = reverse("notifications:inbox")
    return redirect(f"{url}?{urlencode(query)}" if query else url)


@login_required
def inbox(request: AuthedHttpRequest) -> HttpResponse:
    show = "unread" if request.GET.get("show") == "unread" else "all"
    rows = Notification.objects.filter(user=request.user)
    if show == "unread":
        rows = rows.filter(read_at__isnull=True)
    page = Paginator(rows.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    for n in page.object_list:
        n.safe_url = _safe_url(request, n.url)
    return render(
        request,
        "notifications/inbox.html",
        {
            "page": page,
            "show": show,
            "query": urlencode({"show": show}) if show == "unread" else "",
            "unread": services.unread_count(request.user),
        },
    )


@login_required
@require_POST
def mark_read(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(Notification.objects.filter(user=request.user), pk=pk)
    services.mark_read(request.user, pk)
    return _back(request)


@login_required
@require_POST
def mark_all_read(request: AuthedHttpRequest) -> HttpResponse:
    changed = services.mark_read(request.user)
    if changed:
        messages.success(request, _("All notifications marked read."))
    return _back(request)


@login_required
def go(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Open what a notification is about, marking it read on the way."""
    notification = get_object_or_404(Notification.objects.filter(user=request.user), pk=pk)
    services.mark_read(request.user, pk)
    url = _safe_url(request, notification.url)
    if not url:
        raise Http404
    return redirect(url)


@never_cache
def count(request: HttpRequest) -> HttpResponse:
    """The unread badge, for htmx polling. Signed out: 204, so a poll never swaps a login page in."""
    if not request.user.is_authenticated:
        return HttpResponse(status=204)
    return render(request, "notifications/_badge.html", {"inbox_unread": services.unread_count(request.user)})
