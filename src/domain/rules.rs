//! Pure rules over values: functions the use cases call and unit tests check without a server.
