from django.conf import settings
from django.urls import include, path

urlpatterns = [
    path("shop/", include("suite_project.shop.urls")),
    path("", include("strangler_django.urls")),
]

if settings.HAS_DRF:
    from rest_framework import routers, serializers, viewsets

    from suite_project.shop.models import Widget

    class WidgetSerializer(serializers.ModelSerializer):
        class Meta:
            model = Widget
            fields = ["id", "name", "colour"]

    class WidgetViewSet(viewsets.ModelViewSet):
        queryset = Widget.objects.all()
        serializer_class = WidgetSerializer

    router = routers.SimpleRouter()
    router.register("widgets", WidgetViewSet)
    urlpatterns.append(path("api/", include((router.urls, "api"))))
