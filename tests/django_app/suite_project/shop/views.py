"""Views of every kind the route inventory must read."""

from django.http import HttpResponse, JsonResponse
from django.views import View
from django.views.generic import ListView

from suite_project.shop.models import Widget


def about(request):
    return HttpResponse("about")


class WidgetList(ListView):
    model = Widget

    def render_to_response(self, context, **kwargs):
        return JsonResponse({"widgets": [w.name for w in context["object_list"]]})


class WidgetColour(View):
    def get(self, request, pk):
        return JsonResponse({"colour": Widget.objects.get(pk=pk).colour})

    def put(self, request, pk):
        return JsonResponse({}, status=204)
