from django.urls import include, path, re_path

from suite_project.shop import views

app_name = "shop"

nested = ([path("<int:pk>/colour", views.WidgetColour.as_view(), name="colour")], "detail")

urlpatterns = [
    path("widgets/", views.WidgetList.as_view(), name="widgets"),
    path("widgets/", include(nested)),
    re_path(r"^about/(?P<section>[a-z]+)/$", views.about, name="about"),
]
