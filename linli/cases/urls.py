from linli.cases.views import case, config, desk, field, insight

app_name = "cases"

urlpatterns = [*case.urlpatterns, *desk.urlpatterns, *field.urlpatterns, *insight.urlpatterns, *config.urlpatterns]
