//! Two statements sent as one: `WITH <name> AS (<first>) <then>`.
//!
//! PostgreSQL runs a data-modifying `WITH` exactly once, in the same snapshot as the statement
//! after it, and the pair commits or fails together. So a row that must be written beside
//! another (the first entry of a status history beside its subject, say) costs no round trip
//! of its own. The result is `then`'s: `first` is run for its effect. Diesel builds each half;
//! when `first` should happen only if `then` does, give both the same condition.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::QueryResult;

#[derive(Debug, Clone)]
pub struct With<A, B> {
    name: &'static str,
    first: A,
    then: B,
}

/// `WITH name AS (first) then`.
pub fn with<A, B>(name: &'static str, first: A, then: B) -> With<A, B> {
    With { name, first, then }
}

impl<A, B: Query> Query for With<A, B> {
    type SqlType = B::SqlType;
}

// The name is text only the value knows, so these statements are cached by their SQL.
impl<A, B> QueryId for With<A, B> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<A: QueryFragment<Pg>, B: QueryFragment<Pg>> QueryFragment<Pg> for With<A, B> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH ");
        out.push_identifier(self.name)?;
        out.push_sql(" AS (");
        self.first.walk_ast(out.reborrow())?;
        out.push_sql(") ");
        self.then.walk_ast(out.reborrow())
    }
}
