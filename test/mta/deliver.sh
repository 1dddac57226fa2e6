#!/bin/sh
# deliver.sh SINKDIR MTA SENDER RECIPIENT < message
#
# Final delivery agent of the test MTAs: stores the message read from stdin
# as SINKDIR/NAME.eml and its envelope as SINKDIR/NAME.env (lines
# "mta=", "sender=", "recipient="). The .env file is renamed into place
# last, so its presence means the delivery is complete.
set -eu
if [ $# -ne 4 ]; then
	echo "usage: deliver.sh SINKDIR MTA SENDER RECIPIENT" >&2
	exit 64 # EX_USAGE
fi
dir=$1 mta=$2 sender=$3 rcpt=$4
# Sendmail passes the null sender as "<>", Postfix as an empty string.
if [ "$sender" = "<>" ]; then
	sender=""
fi
name=$(date +%s.%N).$$.$mta
tmp=$dir/.tmp.$name
# Any failure below is reported as EX_TEMPFAIL so the MTA keeps the mail.
trap 'rm -f "$tmp.eml" "$tmp.env"; exit 75' EXIT
cat >"$tmp.eml"
printf 'mta=%s\nsender=%s\nrecipient=%s\n' "$mta" "$sender" "$rcpt" >"$tmp.env"
mv "$tmp.eml" "$dir/$name.eml"
mv "$tmp.env" "$dir/$name.env"
trap - EXIT
exit 0
