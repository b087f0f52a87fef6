package gatehouse.sql_masking_test

import data.gatehouse.main.decision
import data.gatehouse.testdata as t

ref(table, column, position) := {"table": table, "column": column, "position": position}

with_columns(s, columns) := object.union(s, {"columns": columns})

select_refs(columns) := with_columns(
	t.stmt("select", "SELECT … FROM customers", true),
	columns,
)

test_agent_plain_select_of_masked_column_allowed if {
	s := select_refs([ref("public.customers", "email", "select"), ref("public.customers", "id", "where")])
	d := decision with input as t.sql_input(t.agent, t.demo_pg, [s])
	d.allow == true
}

test_agent_masked_column_in_where_denied if {
	s := select_refs([ref("public.customers", "id", "select"), ref("public.customers", "ssn", "where")])
	d := decision with input as t.sql_input(t.agent, t.demo_pg, [s])
	d.allow == false
	d.reasons == ["agents may use masked column public.customers.ssn only in a plain select list, not in where: statement 1 (select)"]
}

test_agent_masked_column_in_expression_order_group_join_denied if {
	every pos in ["expression", "order_by", "group_by", "join", "having", "window", "from_function"] {
		s := select_refs([ref("public.customers", "email", pos)])
		d := decision with input as t.sql_input(t.agent, t.demo_pg, [s])
		d.allow == false
	}
}

test_agent_unknown_table_and_whole_row_match_fail_closed if {
	unknown := select_refs([ref("", "phone", "where")])
	d1 := decision with input as t.sql_input(t.agent, t.demo_pg, [unknown])
	d1.allow == false
	whole := select_refs([ref("public.customers", "*", "expression")])
	d2 := decision with input as t.sql_input(t.agent, t.demo_pg, [whole])
	d2.allow == false
}

test_other_tables_columns_not_matched if {
	s := select_refs([ref("public.orders", "email", "where"), ref("other.customers", "x", "where")])
	d := decision with input as t.sql_input(t.agent, t.demo_pg, [s])
	d.allow == true
}

test_human_masked_column_in_where_allowed_but_masked if {
	s := select_refs([ref("public.customers", "ssn", "where")])
	d := decision with input as t.sql_input(t.human, t.demo_pg, [s])
	d.allow == true
	count(d.mask.columns) > 0
}

test_copying_masked_values_into_a_write_denied_unless_pii_reader if {
	s := with_columns(
		t.stmt("insert", "INSERT INTO notes SELECT email FROM customers", false),
		[ref("public.customers", "email", "write")],
	)
	d := decision with input as t.sql_input(t.human, t.demo_pg, [s])
	d.allow == false
	d.reasons == ["masked column public.customers.email may not be copied into a write: statement 1 (insert)"]
	r := decision with input as t.sql_input(t.pii_reader, t.demo_pg, [s])
	r.allow == true
}

test_agent_sampled_value_views_denied if {
	every name in ["pg_stats", "pg_catalog.pg_stats", "pg_statistic", "pg_stats_ext", "pg_stats_ext_exprs", "pg_statistic_ext_data"] {
		s := object.union(t.stmt("select", "SELECT * FROM pg_stats", true), {"reads": [name]})
		d := decision with input as t.sql_input(t.agent, t.demo_pg, [s])
		d.allow == false
		contains(d.reasons[0], "holds sampled column values")
	}
}

test_human_sampled_value_views_allowed if {
	s := object.union(t.stmt("select", "SELECT * FROM pg_stats", true), {"reads": ["pg_stats"]})
	d := decision with input as t.sql_input(t.human, t.demo_pg, [s])
	d.allow == true
}
