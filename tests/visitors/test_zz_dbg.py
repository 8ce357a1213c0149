import threading, time
import pytest
from django.db import connection
pytestmark = [pytest.mark.django_db(transaction=True)]

def test_zz_after(live_server):
    time.sleep(1)
    with connection.cursor() as c:
        c.execute("select pid, state, left(query,80), backend_start from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()")
        print("\nSESSIONS", c.fetchall())
    print("THREADS", [t.name for t in threading.enumerate()])
