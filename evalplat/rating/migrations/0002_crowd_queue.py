"""The rating queue: planned assignments (no rater yet), each item's scheduler cell, the speed flag."""
import django.db.models.deletion
from django.db import migrations, models


def fill_cells(apps, schema_editor):
    """Existing items get their cell (query:low variant:high variant) before the one-cell-per-rater constraint."""
    Assignment = apps.get_model("rating", "Assignment")
    items = Assignment.objects.filter(is_gold=False).values_list(
        "pk", "query_id", "left_answer__variant_id", "right_answer__variant_id")
    for pk, query_id, left, right in items.iterator():
        low, high = sorted((left, right))
        Assignment.objects.filter(pk=pk).update(cell=f"{query_id}:{low}:{high}")


class Migration(migrations.Migration):

    dependencies = [
        ('experiments', '0001_initial'),
        ('generation', '0001_initial'),
        ('rating', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='RatingQueue',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('refilled_at', models.DateTimeField(blank=True, null=True)),
                ('refill_from_id', models.BigIntegerField(default=0, help_text='Claiming a queued item with this id or a later one tops the queue up.')),
                ('query_cap', models.PositiveIntegerField(default=1, help_text='Most items of one query for one rater.')),
                ('planned', models.PositiveIntegerField(default=0, help_text='Items planned so far (all refills).')),
                ('replica_from_id', models.BigIntegerField(default=0, help_text='Judged items below this id have their second rating (or will not get one).')),
            ],
        ),
        migrations.RemoveIndex(
            model_name='assignment',
            name='rating_assi_experim_4baa64_idx',
        ),
        migrations.AddField(
            model_name='assignment',
            name='cell',
            field=models.CharField(blank=True, help_text='query:variant:variant (ids); empty for attention items.', max_length=64),
        ),
        migrations.RunPython(fill_cells, migrations.RunPython.noop),
        migrations.AddField(
            model_name='rater',
            name='too_fast',
            field=models.BooleanField(default=False, help_text="Median time on item below RATING_FAST_MEDIAN_SECONDS over at least RATING_FAST_MIN_ITEMS judgments: read by the analysis's exclusion rule."),
        ),
        migrations.AlterField(
            model_name='assignment',
            name='expires_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='assignment',
            name='issued_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='assignment',
            name='position',
            field=models.PositiveIntegerField(blank=True, help_text="0 for the rater's first item.", null=True),
        ),
        migrations.AlterField(
            model_name='assignment',
            name='rater',
            field=models.ForeignKey(blank=True, help_text='Empty while the item waits in the queue.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='assignments', to='rating.rater'),
        ),
        migrations.AlterField(
            model_name='assignment',
            name='status',
            field=models.CharField(choices=[('queued', 'Planned, waiting for a rater'), ('issued', 'Waiting for the rater'), ('judged', 'Judged'), ('skipped', 'Skipped (problem reported)'), ('expired', 'Abandoned and handed on')], default='issued', max_length=10),
        ),
        migrations.AddIndex(
            model_name='assignment',
            index=models.Index(fields=['experiment', 'status', 'expires_at'], name='rating_assignment_by_status'),
        ),
        migrations.AddIndex(
            model_name='assignment',
            index=models.Index(condition=models.Q(('status', 'queued')), fields=['experiment', 'id'], name='rating_queue'),
        ),
        migrations.AddConstraint(
            model_name='assignment',
            constraint=models.UniqueConstraint(condition=models.Q(('cell', ''), _negated=True), fields=('rater', 'cell'), name='one_cell_per_rater'),
        ),
        migrations.AddField(
            model_name='ratingqueue',
            name='experiment',
            field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='rating_queue', to='experiments.experiment'),
        ),
    ]
