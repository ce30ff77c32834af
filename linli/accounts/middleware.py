from django.utils import translation

from linli.core import context


class UserPreferencesMiddleware:
    """Apply the signed-in user's language; put the user into the audit context."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            context.set_user(user)
            if user.language and not request.GET.get("lang"):
                translation.activate(user.language)
                request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
