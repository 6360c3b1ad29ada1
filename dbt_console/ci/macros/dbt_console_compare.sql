{# Written by dbt-console for CI's compare changes; the next run's git clean removes it. #}
{% macro dbt_console_compare(models, key_limit) %}
  {% for m in models %}
    {% set out = {"id": m.id} %}
    {# This run just built the branch's relation: no need to ask whether it exists. #}
    {% set b = api.Relation.create(database=m.branch[0], schema=m.branch[1],
                                   identifier=m.branch[2]) %}
    {% set p = none %}
    {% if m.prod and m.prod_built %}
      {# Production's run built it: asking whether it exists lists its whole schema. #}
      {% set p = api.Relation.create(database=m.prod[0], schema=m.prod[1],
                                     identifier=m.prod[2]) %}
    {% elif m.prod %}
      {% set p = adapter.get_relation(database=m.prod[0], schema=m.prod[1],
                                      identifier=m.prod[2]) %}
    {% endif %}
    {% if p is not none and p.render() == b.render() %}
      {% do out.update({"note": "the branch built into production's own relation"}) %}
    {% else %}
      {% do out.update(dbt_console_measure(b, p, m.key, key_limit)) %}
    {% endif %}
    {% do log("dbt-console-compare " ~ tojson(out), info=True) %}
  {% endfor %}
{% endmacro %}

{% macro dbt_console_scalars(sql) %}
  {# One query for several numbers: each query costs a round trip. #}
  {% set found = run_query(sql) %}
  {% set out = [] %}
  {% for column in found.columns %}{% do out.append(column.values()[0] | int) %}{% endfor %}
  {{ return(out) }}
{% endmacro %}

{% macro dbt_console_columns(relation) %}
  {% set out = [] %}
  {% for c in adapter.get_columns_in_relation(relation) %}
    {% do out.append([c.name, c.data_type]) %}
  {% endfor %}
  {{ return(out) }}
{% endmacro %}

{% macro dbt_console_measure(b, p, key, key_limit) %}
  {% if p is none %}
    {% set n = dbt_console_scalars("select count(*) from " ~ b) %}
    {{ return({"branch_rows": n[0], "branch_columns": dbt_console_columns(b)}) }}
  {% endif %}
  {% set n = dbt_console_scalars("select (select count(*) from " ~ b ~ "), (select count(*) from "
                                 ~ p ~ ")") %}
  {% set out = {"branch_rows": n[0], "prod_rows": n[1], "branch_columns": dbt_console_columns(b),
                "prod_columns": dbt_console_columns(p)} %}
  {% set pcols = {} %}
  {% for c in out.prod_columns %}{% do pcols.update({c[0] | lower: c}) %}{% endfor %}
  {% set same = [] %}
  {% set keys = [] %}
  {% for c in out.branch_columns %}
    {% set q = pcols.get(c[0] | lower) %}
    {% if q and q[1] | lower == c[1] | lower %}{% do same.append(c[0]) %}{% endif %}
    {% if q and key and c[0] | lower == key | lower and q[1] | lower == c[1] | lower %}
      {% do keys.append([c[0], q[0]]) %}
    {% endif %}
  {% endfor %}
  {% if not keys %}
    {% if key %}{% do out.update({"note": "key " ~ key ~ " is not in both alike"}) %}{% endif %}
    {{ return(out) }}
  {% endif %}
  {% if out.branch_rows > key_limit or out.prod_rows > key_limit %}
    {% do out.update({"note": "over " ~ key_limit ~ " rows: counts and columns only"}) %}
    {{ return(out) }}
  {% endif %}
  {% set bk = adapter.quote(keys[0][0]) %}
  {% set pk = adapter.quote(keys[0][1]) %}
  {% set cols = [] %}
  {% for c in same %}{% do cols.append(adapter.quote(c)) %}{% endfor %}
  {% set n = dbt_console_scalars(
      "select (select count(*) from " ~ b ~ " b left join " ~ p ~ " p on b." ~ bk ~ " = p." ~ pk
      ~ " where p." ~ pk ~ " is null), (select count(*) from " ~ p ~ " p left join " ~ b
      ~ " b on p." ~ pk ~ " = b." ~ bk ~ " where b." ~ bk ~ " is null), (select count(*) from "
      ~ "(select " ~ cols | join(", ") ~ " from " ~ b ~ " " ~ dbt.except() ~ " select "
      ~ cols | join(", ") ~ " from " ~ p ~ ") d)") %}
  {% do out.update({"key": keys[0][0], "rows_added": n[0], "rows_removed": n[1],
                    "rows_changed": n[2] - n[0]}) %}
  {{ return(out) }}
{% endmacro %}
