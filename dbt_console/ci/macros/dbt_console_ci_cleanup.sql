{# Written by dbt-console for `dbt-console ci cleanup`; git clean removes it. #}
{% macro dbt_console_drop_schema(schema) %}
  {% set relation = api.Relation.create(database=target.database, schema=schema) %}
  {% do adapter.drop_schema(relation) %}
  {{ log("dropped schema " ~ relation ~ " (dbt-console ci cleanup)", info=True) }}
{% endmacro %}
