# t_soak.sh -- t_concurrency.sh for five minutes (make check-long).
export SOAK_SECONDS=${SOAK_SECONDS:-300}
exec bash "$(dirname "$0")/t_concurrency.sh"
