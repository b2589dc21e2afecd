//! Fixed SQL text as a typed expression that PostgreSQL may keep prepared.
//!
//! Diesel's `sql()` literals mark their query as never cacheable, so every query using one is
//! parsed and planned again on each call (about 0.5 ms for a participant read). A [`Fragment`]
//! is `&'static str` SQL with no binds: its query is cached by its SQL text, as boxed queries
//! are.

use std::marker::PhantomData;

use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression};
use diesel::expression::{TypedExpressionType, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::QueryResult;

/// SQL text of type `ST`, written inline.
#[derive(Debug, Clone, Copy)]
pub struct Fragment<ST> {
    sql: &'static str,
    sql_type: PhantomData<ST>,
}

impl<ST> Fragment<ST> {
    pub const fn new(sql: &'static str) -> Self {
        Self {
            sql,
            sql_type: PhantomData,
        }
    }
}

impl<ST: TypedExpressionType> Expression for Fragment<ST> {
    type SqlType = ST;
}

impl<ST> QueryFragment<Pg> for Fragment<ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(self.sql);
        Ok(())
    }
}

// Two fragments of one type can hold different text, so the type alone does not identify the
// statement: queries holding one are cached by their SQL instead.
impl<ST> QueryId for Fragment<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST: TypedExpressionType, QS> AppearsOnTable<QS> for Fragment<ST> {}

impl<ST: TypedExpressionType, QS> SelectableExpression<QS> for Fragment<ST> {}

impl<ST, GroupBy> ValidGrouping<GroupBy> for Fragment<ST> {
    type IsAggregate = is_aggregate::Never;
}
