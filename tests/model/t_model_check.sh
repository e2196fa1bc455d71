# t_model_check.sh -- t_model.sh in its make check mode: every reproducer
# found so far, then a modest run from a fixed seed, plain and with
# upload=async (see t_model.sh).
exec bash "$(dirname "$0")/t_model.sh" --check "$@"
