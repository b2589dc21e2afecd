//! The limits of episodes of care, their follow-up interviews, and the organization's time
//! zone they are counted in.

use utoipa::openapi::schema::Schema;

use super::Text;

/// The program an episode is funded under.
pub const PROGRAM: Text = Text { min: 1, max: 200 };
/// A funder's grant number.
pub const GRANT_ID: Text = Text { min: 1, max: 100 };
/// A funder's site id.
pub const SITE_ID: Text = Text { min: 1, max: 100 };

/// An IANA time zone name.
pub const TIME_ZONE: Text = Text { min: 1, max: 64 };

schema_types! {
    TimeZone => TIME_ZONE.schema("An IANA time zone name, e.g. `America/Chicago`.");
    Program => PROGRAM.schema("");
    GrantId => GRANT_ID.schema("");
    SiteId => SITE_ID.schema("");
}
