// barstore/session.hpp: trading sessions (zone, local open/close, weekdays, holidays): their
// text form and the calendar that finds the session holding an instant. Rules and examples:
// docs/time.md. The Session value itself is in types.hpp (core), since a SeriesBatch carries one.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "barstore/types.hpp"

namespace barstore {

/// `24x7`, `us-equity`, `us-equity-extended`, `cme-globex`, or
/// `ZONE HH:MM-HH:MM [Mon-Fri|Sun-Fri|Mon,Wed,...] [holidays=YYYY-MM-DD,...]`.
/// Throws InvalidInput listing the accepted forms (an unknown zone included).
Session parse_session(std::string_view text);
/// The preset's name, or the canonical spec text; parse_session(format_session(s)) == s.
std::string format_session(const Session& s);

/// Why bars of `base` cannot carry session `s`, or nullopt if they can. Bars belong to the
/// session their start falls in, so a session no bar can start in would answer every query
/// with nothing: refused for a base of 1d or more (a daily bar starts at 00:00 UTC, a date, not
/// a time of the trading day; a zone's midnight would give it the wrong trading date), and for
/// an intraday base none of whose multiples since the epoch falls inside any session of 2024.
/// 24x7 fits every base. Checked wherever a session is stored (Store::write, set_session).
/// Throws InvalidInput for an unknown zone.
std::optional<std::string> session_base_problem(const Session& s, Duration base);

/// One occurrence of a session: [open, close) as UTC instants, and its trading date.
struct SessionInstance {
    Timestamp open{}, close{};
    std::chrono::sys_days trading_date{};  ///< local date of the close, as a plain date
};

/// Finds session instances; caches the last answer, so scanning bars in time order costs a
/// zone lookup only when a session boundary is crossed. Not thread-safe (one per scan).
class SessionCalendar {
public:
    explicit SessionCalendar(Session s);  ///< throws InvalidInput for an unknown zone
    ~SessionCalendar();
    SessionCalendar(SessionCalendar&&) noexcept;
    SessionCalendar& operator=(SessionCalendar&&) noexcept;

    /// The session holding t, if any.
    std::optional<SessionInstance> containing(Timestamp t);
    /// The first session whose open is after t (skipping weekdays off and holidays).
    SessionInstance next_after(Timestamp t);
    /// The session of a trading date, if the date has one.
    std::optional<SessionInstance> on(std::chrono::sys_days trading_date);
    const Session& session() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace barstore
